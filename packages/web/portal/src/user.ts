/** The portal's account type. */

/** The signed-in account, as GET /api/session answers it. */
export interface User {
  id: string;
  email: string;
  role: 'publisher' | 'reviewer' | 'admin';
  publisher_id: string | null;
  publisher_name: string | null;
}
