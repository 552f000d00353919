/** Entry point of the gateway admin console SPA (the shared stylesheet, plus the console's own). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../../shared/src/styles.css';
import { App } from './App.tsx';
import './console.css';

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
