/** The little of oidc-provider's API the tests use (the package ships no types). */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  // biome-ignore lint/suspicious/noExplicitAny: the provider's configuration is a large untyped object.
  export type Configuration = Record<string, any>;

  /** A grant of scopes to one client for one account. */
  export interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    // biome-ignore lint/suspicious/noExplicitAny: interaction details are provider-shaped.
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<any>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    Grant: {
      new (init: { accountId: string; clientId: string }): Grant;
      find(id: string): Promise<Grant | undefined>;
    };
    // biome-ignore lint/suspicious/noExplicitAny: event listeners receive provider objects.
    on(event: string, listener: (...args: any[]) => void): this;
  }
}
