// A real OpenID provider (the certified npm package `oidc-provider`) for the browser and API
// tests. Started by tests/oidc_fixture.py on loopback; prints "ready <issuer>" once it listens.
// Its login page asks for a synthetic national number and the assurance level to assert, so a
// test can log in at a level the platform accepts or refuses. Consent is implied (first party).
//
// Besides the web login's confidential client, it registers public clients (PKCE, no secret)
// that ask for an access token for a resource server (RFC 8707 resource indicators): for the
// resources in OIDC_API_RESOURCES it issues RFC 9068 JWT access tokens (typ at+jwt, aud = the
// resource) carrying the assurance level (acr) and the national number (egovNRN) of the login.
// The client OIDC_API_CLIENT_ID gets 300-second tokens, `<OIDC_API_CLIENT_ID>-short` 1-second
// ones (to test expiry).
//
// Environment: OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (space-separated),
// OIDC_POST_LOGOUT_URI; optional OIDC_API_CLIENT_ID, OIDC_API_REDIRECT_URI, OIDC_API_RESOURCES
// (space-separated).
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const LEVELS = ['urn:be:fedict:iam:fas:Level100', 'urn:be:fedict:iam:fas:Level500'];
const API_CLIENT = process.env.OIDC_API_CLIENT_ID;
const RESOURCES = (process.env.OIDC_API_RESOURCES || '').split(' ').filter(Boolean);
const API_SCOPE = 'ila.account';

const clients = [{
  client_id: process.env.OIDC_CLIENT_ID,
  client_secret: process.env.OIDC_CLIENT_SECRET,
  redirect_uris: process.env.OIDC_REDIRECT_URIS.split(' '),
  post_logout_redirect_uris: [process.env.OIDC_POST_LOGOUT_URI],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
}];
if (API_CLIENT) {
  for (const id of [API_CLIENT, `${API_CLIENT}-short`]) {
    clients.push({
      client_id: id,
      redirect_uris: [process.env.OIDC_API_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
  }
}

const provider = new Provider(issuer, {
  clients,
  acrValues: LEVELS,
  claims: { openid: ['sub'], profile: ['given_name', 'family_name'], egovnrn: ['egovNRN'] },
  scopes: ['openid', 'profile', 'egovnrn'],
  conformIdTokenClaims: false,
  cookies: { keys: ['test-only-cookie-key-not-secret'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined, // the web login asks for no resource: nothing changes
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resource, client) {
        if (!RESOURCES.includes(resource)) throw new errors.InvalidTarget();
        return {
          scope: API_SCOPE,
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId.endsWith('-short') ? 1 : 300,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    // RFC 9068 §2.2.1: the authentication's acr; the national number as the web login gets it
    if (token.kind !== 'AccessToken' || !token.resourceServer || !token.accountId) return undefined;
    const code = ctx.oidc.entities.AuthorizationCode;
    return { acr: code?.acr, egovNRN: token.accountId };
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, egovNRN: id, given_name: 'Test', family_name: `Citizen ${id.slice(-3)}` };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile egovnrn');
    grant.addOIDCClaims(['acr', 'egovNRN', 'given_name', 'family_name']);
    for (const resource of Object.keys(ctx.oidc.resourceServers || {})) {
      grant.addResourceScope(resource, API_SCOPE);
    }
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(uid) {
  const options = LEVELS.map((l) => `<option value="${l}">${escape(l)}</option>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test OpenID provider</title></head>
<body><main><h1>Test OpenID provider</h1>
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">National number</label> <input id="login" name="login" required>
<label for="acr">Assurance level</label> <select id="acr" name="acr">${options}</select>
<button type="submit">Sign in</button></form></main></body></html>`;
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const match = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'POST' && match[2]) {
      const form = await body(req);
      const result = { login: { accountId: form.get('login'), acr: form.get('acr') } };
      return await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(page(details.uid));
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    return res.end(String(err));
  }
});
server.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
