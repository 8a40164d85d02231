/**
 * What domain code (catalog, uploads) needs from the realtime hub: publish one
 * event to one channel. `data` is any JSON value; the hub serializes it once.
 */
export interface Publisher {
  publish(channel: string, event: string, data: unknown): Promise<string>;
}
