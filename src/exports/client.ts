/**
 * `hubcast/client`: the client SDK, which lives in its own package (`@hubcast/client`, in
 * packages/client). Re-exported so apps that import it through the server package keep working.
 */
export * from '@hubcast/client';
