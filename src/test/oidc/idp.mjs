// An OpenID provider for the tests: oidc-provider (OpenID Certified) with the users the tests
// name, JWT access tokens for several resources (one per signing algorithm, one for another
// audience, one short-lived) and opaque ones for introspection.
//
//   node idp.mjs PORT KEYFILE [rotate]
//
// KEYFILE holds the private keys (created when missing; "rotate" replaces them with new ones).
// Prints "listening ISSUER" once it serves. A login needs no password: /auth's login_hint
// names the user, and the interaction is finished at once.
import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const [port, keyFile, mode] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

function key(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${crypto.randomBytes(4).toString('hex')}` };
}

let keys;
if (mode === 'rotate' || !fs.existsSync(keyFile)) {
  keys = [
    key('rsa', { modulusLength: 2048 }, 'RS256'),
    key('rsa', { modulusLength: 2048 }, 'PS256'),
    key('ec', { namedCurve: 'P-256' }, 'ES256'),
    key('ed25519', {}, 'EdDSA'),
  ];
  fs.writeFileSync(keyFile, JSON.stringify({ keys }));
} else {
  keys = JSON.parse(fs.readFileSync(keyFile, 'utf8')).keys;
}

const resources = {
  'urn:saslauth:mail': { alg: 'RS256' },
  'urn:saslauth:ps256': { alg: 'PS256' },
  'urn:saslauth:es256': { alg: 'ES256' },
  'urn:saslauth:eddsa': { alg: 'EdDSA' },
  'urn:saslauth:other': { alg: 'RS256', audience: 'urn:other' },
  'urn:saslauth:short': { alg: 'RS256', ttl: 1 },
  'urn:saslauth:opaque': { opaque: true },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'mail', client_secret: 'mail-secret',
      redirect_uris: ['http://127.0.0.1/cb'], grant_types: ['authorization_code'], response_types: ['code'],
    },
    // the client saslauth introspects as
    { client_id: 'saslauth', client_secret: 'saslauth-secret', redirect_uris: [], grant_types: [], response_types: [] },
  ],
  jwks: { keys },
  scopes: ['openid', 'email'],
  claims: { openid: ['sub'], email: ['email'] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, email: `${id}@example.org` }) }),
  extraTokenClaims: async (ctx, token) => (token.accountId ? { email: `${token.accountId}@example.org` } : undefined),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:saslauth:mail',
      useGrantedResource: () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        const r = resources[indicator];
        if (!r) throw new Error(`unknown resource ${indicator}`);
        const info = { scope: 'mail other', audience: r.audience || 'urn:saslauth:mail', accessTokenTTL: r.ttl || 3600 };
        if (r.opaque) return { ...info, accessTokenFormat: 'opaque' };
        return { ...info, accessTokenFormat: 'jwt', jwt: { sign: { alg: r.alg } } };
      },
    },
  },
  enabledJWA: { authorizationSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'] },
  pkce: { required: () => true },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  const m = req.url.match(/^\/interaction\/([^/?]+)/);
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.params.login_hint;
    if (process.env.IDP_DEBUG) console.error('interaction', JSON.stringify(details.prompt), JSON.stringify(details.session));
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope('openid email');
    for (const r of [].concat(details.params.resource || 'urn:saslauth:mail')) grant.addResourceScope(r, 'mail other');
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false });
  } catch (e) {
    console.error(e);
    res.statusCode = 500;
    res.end(String(e));
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => server.close(() => process.exit(0)));
