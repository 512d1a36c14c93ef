// Calls to the gateway with the signed-in user's token (POST /api/v5/login, kept in sessionStorage so that
// it ends with the tab). A 401 on a call made with a token means the token expired or was revoked: the
// page goes back to sign-in through the handler app.js installs.

const TOKEN_KEY = "emqgw.token";
const USER_KEY = "emqgw.username";

let onExpired = () => {};

export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { token, username: sessionStorage.getItem(USER_KEY) } : null;
}

export function startSession(token, username) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(USER_KEY, username);
}

export function endSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

export function whenExpired(handler) { onExpired = handler; }

// Thrown after the page has gone back to sign-in, so that a panel stops where it is.
export class SessionEnded extends Error {}

// Thrown when no answer came (the gateway is down or the network is): the panel keeps its last figures.
export class Unreachable extends Error {}

// { status, doc } for any answer the gateway gives; throws SessionEnded or Unreachable otherwise.
export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const s = session();
  if (s) headers.Authorization = "Bearer " + s.token;
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Unreachable(e.message);
  }
  const text = await r.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = text; }
  if (r.status === 401 && s) {
    endSession();
    onExpired((doc && doc.code) || "401");
    throw new SessionEnded();
  }
  return { status: r.status, doc };
}

// The message of an error answer, in whichever envelope it came.
export function failure(status, doc) {
  return (doc && doc.message) || ("error " + status);
}
