import { ManualClock } from "../../shared/clock.ts";
import type { ContainerEvent } from "../../shared/cri/api.ts";
import { Logger } from "../../shared/log.ts";
import { runtimeContract } from "./contract.ts";
import { FakeRuntime } from "./fake.ts";

runtimeContract("fake runtime", () => {
  const clock = new ManualClock();
  const podCIDR = "10.244.1.0/24";
  const rt = new FakeRuntime({ clock, podCIDR, log: new Logger({ sink: () => {} }) });
  const events: ContainerEvent[] = [];
  rt.watchEvents((ev) => events.push(ev));
  return Promise.resolve({
    cri: rt,
    podCIDR,
    clock,
    events,
    [Symbol.asyncDispose]: () => rt.close(),
  });
});
