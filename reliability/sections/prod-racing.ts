// Racing against the PRODUCTION BUNDLE: two replicas started from the bundle of
// scripts/prod-bundle.js with app-config.production.yaml (reliability/lib/prodStack.ts: PostgreSQL,
// the config repo over HTTP with a token, OIDC sign-in against a stand-in IdP, CI's static token),
// then the racing core of sections/racing.ts against them. Run by scripts/prod-replicas.js.
/* eslint-disable no-console */
import path from 'node:path';
import { assert, check, errorMessage, request } from '../lib/harness';
import { startProdStack } from '../lib/prodStack';
import { raceOn, signalAcrossReplicas } from './racing';

const S = 'prod-bundle racing';

export async function prodRacing(options: { bundle: string; promotions: number; services: number; lockWaitMs?: number }) {
  const stack = await startProdStack({
    bundle: options.bundle,
    replicas: 2,
    services: options.services,
    lockWaitMs: options.lockWaitMs,
    log: line => console.log(`  ${line}`),
  });
  const [a, b] = stack.replicas;
  const CI = `Bearer ${stack.tokens.ci}`;
  try {
    await check(S, 'the catalog of the production bundle ingests the organisation (read with the CI token)', () => stack.catalogReady(), 120_000);

    let aliceToken = '';
    await check(S, 'alice signs in through OIDC (stand-in IdP) on replica A; replica B accepts the token', async () => {
      stack.signInAs({ sub: 'u-alice', email: 'alice@bank.example', name: 'Alice' });
      const { response } = await stack.signIn(a.url);
      const identity = response?.response?.backstageIdentity;
      assert(identity?.identity?.userEntityRef === 'user:default/alice', `sign-in answered ${JSON.stringify(response).slice(0, 300)}`);
      aliceToken = identity.token;
      const onB = await request(b.url, 'GET', '/api/release-manager/environments', { auth: `Bearer ${aliceToken}` });
      assert(onB.status === 200, `replica B: ${onB.status} ${errorMessage(onB)}`);
      return `IdP calls: ${[...new Set(stack.idp.calls)].join(', ')}`;
    });
    assert(aliceToken, 'no user token: the racing cannot run');

    await check(S, 'someone the IdP knows but the catalog does not is refused sign-in', async () => {
      stack.signInAs({ sub: 'u-x', email: 'mallory@elsewhere.example', name: 'Mallory' });
      const { response } = await stack.signIn(b.url);
      assert(!response?.response?.backstageIdentity && response?.error, `signed in: ${JSON.stringify(response).slice(0, 300)}`);
      return String(response.error?.message ?? '').slice(0, 120);
    });

    await check(S, 'the config remote refuses a fetch without its token', async () => {
      const r = await fetch(`${stack.git.url('config')}/info/refs?service=git-upload-pack`);
      assert(r.status === 401, `answered ${r.status}`);
    });

    await signalAcrossReplicas(S, a, b, `Bearer ${aliceToken}`, CI);

    const race = await raceOn(S, {
      a,
      b,
      remote: stack.git.path('config'),
      committerDir: path.join(stack.work, 'outsider'),
      rmDb: stack.db.knexFor(`${stack.db.prefix}release-manager`),
      releaseAuth: `Bearer ${aliceToken}`,
      uploadAuth: CI,
      services: options.services,
      promotions: options.promotions,
      dataDirs: stack.replicas.map(r => r.dataDir),
      extraBlobs: 1, // the signal check's artifact
    });
    const c = stack.git.counts;
    console.log(
      `  config remote over HTTP: ${c.fetches} fetches, ${c.pushes} pushes, ${c.refused} refused without token; promotions answered ${JSON.stringify(race.statuses)}`,
    );
  } catch (e) {
    for (const r of stack.replicas) console.log(`--- replica ${r.url} log tail:\n${r.log().slice(-2000)}`);
    throw e;
  } finally {
    await stack.stop();
  }
}
