/**
 * A keyed collection as the feed last sent it (alerts, silences): `update` takes the whole
 * current list, returns what was added or changed and which keys went away, and keeps the
 * new list as sent. `same` decides cheaply whether an item changed (identity of immutable
 * values where there are some), so an unchanged list costs no serialisation.
 */
export class KeyedDiff<Item, Json> {
  private sent = new Map<string, { item: Item; json: Json }>();

  constructor(
    private readonly keyOf: (item: Item) => string,
    private readonly same: (a: Item, b: Item) => boolean,
    private readonly toJson: (item: Item) => Json,
  ) {}

  update(items: Iterable<Item>): { upserted: Json[]; removed: string[] } {
    const next = new Map<string, { item: Item; json: Json }>();
    const upserted: Json[] = [];
    for (const item of items) {
      const key = this.keyOf(item);
      const before = this.sent.get(key);
      if (before && this.same(before.item, item)) {
        next.set(key, { item, json: before.json });
        continue;
      }
      const json = this.toJson(item);
      next.set(key, { item, json });
      upserted.push(json);
    }
    const removed = [...this.sent.keys()].filter((k) => !next.has(k));
    this.sent = next;
    return { upserted, removed };
  }

  values(): Json[] {
    return [...this.sent.values()].map((e) => e.json);
  }
}
