/** `hubcast/react`: the SDK's React hooks (`@hubcast/client/react`), re-exported. React ≥ 18 is a peer dependency. */
export * from '@hubcast/client/react';
