/** `hubcast/wire`: the wire codes, paths, frame types and binary codec the SDK and the server share (`@hubcast/client/wire`). */
export * from '@hubcast/client/wire';
