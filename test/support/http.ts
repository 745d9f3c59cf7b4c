/** What a test reads of an HTTP answer: the raw text, and the JSON body when the text is JSON. */
export interface HttpAnswer {
  status: number;
  /** The parsed JSON body, `undefined` when the text is not JSON (`/metrics`, the board page …). */
  body: any;
  text: string;
  headers: Headers;
}

/** `fetch`, then the body read once as text and parsed as JSON when it is JSON. */
export async function fetchAnswer(url: string, init?: RequestInit): Promise<HttpAnswer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** `Authorization: Bearer <token>` when there is a token. */
export const bearer = (token?: string): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};
