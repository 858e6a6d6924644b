/** The body of one GET on a connection of its own (no keep-alive: each request may reach another backend). */
import http from 'node:http';

export function httpGet(host: string, port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host, port, path, headers, agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}
