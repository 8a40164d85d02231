import { request } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/**
 * One HTTP request with exactly the headers given (fetch refuses to set `Host`
 * and adds its own), to a gateway on 127.0.0.1. JSON answers are parsed.
 */
export function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
  /** Another loopback source address (127.0.0.2): a client "from elsewhere" without leaving the machine. */
  localAddress?: string,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, method, path, headers, localAddress, setHost: headers.host === undefined },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: the text is returned for the assertion to show
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A JSON POST with the given headers (a loopback Host unless one is given). */
export function postRaw(
  base: string,
  path: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const body = JSON.stringify(payload);
  return raw(
    base,
    'POST',
    path,
    { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers },
    body,
  );
}

/** A multipart/form-data body with one file part, as a browser form would send it. */
export function multipart(
  filename: string,
  type: string,
  bytes: Buffer,
  boundary = 'hubcastboundary7MA4YWxk',
): { body: Buffer; contentType: string } {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
