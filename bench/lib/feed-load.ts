import { SimFleet } from './sim-agent.js';
import { FeedClient, type FeedClientOptions } from './feed-client.js';

export interface FeedLoad {
  fleet: SimFleet;
  clients: FeedClient[];
  close(): void;
}

/**
 * `agents` simulated agents (2 services each) on a coordinator at `base`, and `clients`
 * feed clients following it: the setup of the feed load test and bench/feed.ts.
 */
export async function startFeedLoad(base: string, token: string, agents: number, clients: number, clientOptions: (i: number) => FeedClientOptions = () => ({})): Promise<FeedLoad> {
  const list: FeedClient[] = [];
  for (let i = 0; i < clients; i++) list.push(await FeedClient.connect(base, clientOptions(i)));
  const fleet = new SimFleet({ url: `${base.replace(/^http/, 'ws')}/agent`, token, count: agents, services: 2, validateOutgoing: 'first-of-type', inboxLimit: 0 });
  await fleet.connectAll(50, 30_000);
  return {
    fleet,
    clients: list,
    close: () => {
      fleet.close();
      for (const c of list) c.close();
    },
  };
}

/** JSON of the fleet as GET /api/v1/fleet answers, for comparison with a client's copy. */
export async function fleetText(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/fleet`);
  return JSON.stringify(await res.json());
}
