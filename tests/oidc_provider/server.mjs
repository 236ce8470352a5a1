// A certified OpenID Provider (npm oidc-provider) on a free loopback port, for the OAuth tests.
// Usage: node server.mjs '<json>' with {"clients": [...], "access_token_seconds": n}.
// Prints {"issuer": ...} on one line once it listens; stops on SIGTERM.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const settings = JSON.parse(process.argv[2] ?? '{}');
const server = createServer();

server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: settings.clients ?? [],
    // Its default asks PKCE of public clients only; seatkeeper must send it to every server.
    pkce: { required: () => true },
    // A refresh token for every grant that allows one, rotated on each use as many SaaS servers do.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: { AccessToken: settings.access_token_seconds ?? 3600 },
    features: { devInteractions: { enabled: true } },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
