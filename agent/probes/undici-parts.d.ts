// Types for the two undici modules the prober imports directly (see http-client.ts). They
// are the same classes the package index exports; only the import path differs.
declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici';
  export default Agent;
}
declare module 'undici/lib/core/errors.js' {
  import { errors } from 'undici';
  export default errors;
}
