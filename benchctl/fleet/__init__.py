"""A fleet of benches sharing one job queue on an MQTT broker (mosquitto), for unattended runs.

`benchctl agent` runs next to each bench and takes run jobs from the queue, one at a time; `benchctl submit`
queues a job (and with --wait follows it to its end); `benchctl fleet` prints benches and jobs.

Why a claim protocol on retained messages and not MQTT 5 shared subscriptions: a shared subscription hands a
message to one subscriber, but that subscriber may not meet the job's requirements (Type 2 socket, ...), a
queued job is invisible to `benchctl fleet`, and nothing in it says what happens to a job whose bench dies
after taking it. Retained messages keep the whole queue visible on the broker, and the claim below decides
who runs what.

The protocol (topics in benchctl.fleet.topics; every topic has one writer):

1. A submitter publishes the job spec, retained, on `jobs/<id>`.
2. An agent connects with a last will (its status, retained: offline, naming its session), subscribes to
   everything, and waits for its own echo on `sync/<client id>`: from then on its mirror of the broker
   (benchctl.fleet.ledger) is whole. It publishes its status (idle / busy, with a fresh session id) retained.
3. A job's state follows from the records the benches keep on `bench/<name>/jobs/<id>` (retained):
   - no record: queued, attempt 1;
   - a `done` record: done; a `lost` record: lost;
   - otherwise look at the highest attempt k. A `running` record of a live session: running. Of a dead session
     (its bench's status is offline or names another session): the dead bench's `--on-death` (kept in the
     record) decides: `requeue` makes the job queued at attempt k+1, `report` makes it lost.
   - only `claimed` records at k: being claimed while a possible winner is alive; queued at k+1 when not.
4. To take a queued job at attempt k, an agent first takes its bench's lock (benchctl.run.lock), then publishes
   a `claimed` record for k and waits for it to come back. The broker handles publishes one at a time and
   sends them to every subscriber in that order, so every agent sees the same first claim: its agent runs
   the job (`running`, then `done` with the summary and where the reports are); the others write `yielded`.
   A claim that was on the broker before an agent subscribed comes as a retained message: that agent cannot
   order it, so it counts it as earlier than its own and yields.
5. A session that dies stays dead: a restarted agent is a new session. An agent that loses the broker keeps
   its run going; when it gets back it first reads its own status: if the broker published its will (the
   fleet took it for dead and may have requeued its job), it stops the run and starts a new session;
   otherwise (the broker itself went away and came back with its retained messages) it goes on.

Why this gives "no job runs twice, none is lost": a job is run only by the winner of an attempt, and an
attempt has one winner; a new attempt opens only when the holder of the last one is dead, and a dead
holder stops its run as soon as it learns it. A job is never dropped: it is queued, claimed, running, done
or lost, and every one of these is visible in `benchctl fleet`.

The total order of claims needs one broker; a broker cluster does not promise the same order to every
subscriber. docs/fleet.md has the ACL and what happens when the broker or an agent disappears.
"""
