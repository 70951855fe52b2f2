// The benchmark's peer: node-oidc-provider with the smallest configuration equivalent to
// what is measured on Cardinal: one confidential client (client_secret_basic) that may use
// client_credentials, JWT access tokens through the resource-indicators feature (one
// resource signed RS256, one ES256), discovery and JWKS. Keys are made at start.
//
//   node provider.mjs PORT      (PEER_CLIENT_ID and PEER_CLIENT_SECRET from the environment)
//
// The bench (tests/bench) copies this file next to its node_modules and runs it.
import { generateKeyPairSync } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.argv[2] ?? 3000);
const issuer = `http://127.0.0.1:${port}`;

const privateJwk = (type, options) =>
  generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });

const keys = [
  { ...privateJwk('rsa', { modulusLength: 2048 }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' },
  { ...privateJwk('ec', { namedCurve: 'P-256' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' },
];

// Resource indicator -> the algorithm its JWT access tokens are signed with.
const resources = {
  'urn:bench:rs256': 'RS256',
  'urn:bench:es256': 'ES256',
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.PEER_CLIENT_ID ?? 'bench',
      client_secret: process.env.PEER_CLIENT_SECRET ?? 'bench-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys },
  cookies: { keys: ['cardinal-bench-peer-cookie-key'] },
  ttl: { ClientCredentials: 600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:bench:rs256',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        const alg = resources[resourceIndicator];
        if (!alg) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'api',
          audience: resourceIndicator,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
});

provider.on('server_error', (ctx, err) => {
  console.error('server_error', err);
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening at ${issuer}`);
});
