/**
 * The per-flow concurrency gate in Lua, so every decision is one atomic step in Redis whatever
 * the number of API replicas and workers.
 *
 * Per flow:  active   ZSET job → lease expiry in ms; 0 = admitted (on the run queue), not started
 *            wait     ZSET job → admission sequence: the FIFO of jobs waiting for a slot
 *            payloads HASH job → run payload of a waiting job, enqueued when it is promoted
 *            owners   HASH job → token of the worker running it
 *            meta     HASH max (0 = unlimited)
 *            since    HASH job → when it entered the gate (the reconciler's grace period)
 * Global:    done     ZSET job → when it left the gate; a finished job is never admitted again
 *                     (kept for the retention period, at most MAX_DONE_JOBS of the newest)
 *            seq      counter for the wait order
 *            flows    SET of flows with jobs in the gate (what the reconciler sweeps)
 *
 * Every script first reclaims expired leases (a worker that stopped renewing lost its slot) and
 * promotes waiting jobs into free slots, returning them so the caller puts them on the run queue.
 */
import { RedisScript } from './redis-script.ts';

/**
 * Finished job ids the gate remembers at most (the newest). They guard against a late re-add of
 * a finished job, a window of seconds (until the API has stored the job's end); a day of ids at
 * thousands of runs a second would cost Redis gigabytes.
 */
export const MAX_DONE_JOBS = 200_000;

const PRELUDE = `
local active, wait, payloads, owners, meta, since, done, seqKey, flows =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local now = tonumber(ARGV[1])
local flowId = ARGV[2]
local retention = tonumber(ARGV[3])
local MAX_PROMOTIONS = 500
local MAX_DONE = ${MAX_DONE_JOBS}

local function leave(id)
  redis.call('ZREM', active, id)
  redis.call('ZREM', wait, id)
  redis.call('HDEL', payloads, id)
  redis.call('HDEL', owners, id)
  redis.call('HDEL', since, id)
  redis.call('ZADD', done, now, id)
end

local function reclaim()
  local expired = redis.call('ZRANGEBYSCORE', active, '(0', now)
  for _, id in ipairs(expired) do leave(id) end
  return expired
end

local function maxRunning()
  return tonumber(redis.call('HGET', meta, 'max') or '1')
end

local function promote()
  local max = maxRunning()
  local promoted = {}
  for _ = 1, MAX_PROMOTIONS do
    if max > 0 and redis.call('ZCARD', active) >= max then break end
    local head = redis.call('ZRANGE', wait, 0, 0)
    if #head == 0 then break end
    local id = head[1]
    redis.call('ZREM', wait, id)
    redis.call('ZADD', active, 0, id)
    redis.call('HSET', since, id, now)
    promoted[#promoted + 1] = id
    promoted[#promoted + 1] = redis.call('HGET', payloads, id) or ''
    redis.call('HDEL', payloads, id)
  end
  return promoted
end

local function tidy()
  if redis.call('ZCARD', active) == 0 and redis.call('ZCARD', wait) == 0 then
    redis.call('SREM', flows, flowId)
    redis.call('DEL', payloads, owners, since)
  else
    redis.call('SADD', flows, flowId)
  end
  redis.call('ZREMRANGEBYSCORE', done, '-inf', now - retention)
  local extra = redis.call('ZCARD', done) - MAX_DONE
  if extra > 0 then redis.call('ZREMRANGEBYRANK', done, 0, extra - 1) end
end
`;

/** ARGV: jobId, max (0 = unlimited), mode (queue|skip), payload → {status, detail, promoted, reclaimed} */
export const ACQUIRE = new RedisScript(
  'gate-acquire',
  `${PRELUDE}
local jobId, max, mode, payload = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local reclaimed = reclaim()
redis.call('HSET', meta, 'max', max)
local promoted = promote()
local limit = tonumber(max)
local status, detail = '', ''
if redis.call('ZSCORE', done, jobId) then
  status = 'done'
elseif redis.call('ZSCORE', active, jobId) then
  status = 'admitted'
elseif redis.call('ZSCORE', wait, jobId) then
  status = 'waiting'
  detail = tostring(redis.call('ZRANK', wait, jobId) + 1)
elseif (limit == 0 or redis.call('ZCARD', active) < limit) and redis.call('ZCARD', wait) == 0 then
  redis.call('ZADD', active, 0, jobId)
  redis.call('HSET', since, jobId, now)
  status = 'admitted'
elseif mode == 'skip' then
  status = 'busy'
  local running = redis.call('ZRANGE', active, 0, 0)
  detail = running[1] or ''
else
  local seq = redis.call('INCR', seqKey)
  redis.call('ZADD', wait, seq, jobId)
  redis.call('HSET', payloads, jobId, payload)
  redis.call('HSET', since, jobId, now)
  status = 'waiting'
  detail = tostring(redis.call('ZCARD', wait))
end
tidy()
return {status, detail, promoted, reclaimed}
`,
);

/** ARGV: jobId, owner, leaseMs → {status: started|absent|done|taken, detail, promoted, reclaimed} */
export const START = new RedisScript(
  'gate-start',
  `${PRELUDE}
local jobId, owner, leaseMs = ARGV[4], ARGV[5], tonumber(ARGV[6])
local reclaimed = reclaim()
local promoted = promote()
local score = redis.call('ZSCORE', active, jobId)
local status, detail = '', ''
if not score then
  if redis.call('ZSCORE', done, jobId) then status = 'done' else status = 'absent' end
elseif tonumber(score) == 0 or redis.call('HGET', owners, jobId) == owner then
  redis.call('ZADD', active, now + leaseMs, jobId)
  redis.call('HSET', owners, jobId, owner)
  status = 'started'
  detail = tostring(now + leaseMs)
else
  status = 'taken'
  detail = redis.call('HGET', owners, jobId) or ''
end
tidy()
return {status, detail, promoted, reclaimed}
`,
);

/** ARGV: jobId, owner, leaseMs → 1 when the lease was extended, 0 when it was lost. */
export const RENEW = new RedisScript(
  'gate-renew',
  `${PRELUDE}
local jobId, owner, leaseMs = ARGV[4], ARGV[5], tonumber(ARGV[6])
local score = redis.call('ZSCORE', active, jobId)
if not score or tonumber(score) < now or redis.call('HGET', owners, jobId) ~= owner then return 0 end
redis.call('ZADD', active, now + leaseMs, jobId)
return 1
`,
);

/** ARGV: jobIds... → {'', '', promoted, reclaimed, the ids that held a slot or wait place}. Idempotent. */
export const RELEASE = new RedisScript(
  'gate-release',
  `${PRELUDE}
local held = {}
for i = 4, #ARGV do
  local jobId = ARGV[i]
  if redis.call('ZSCORE', active, jobId) or redis.call('ZSCORE', wait, jobId) then held[#held + 1] = jobId end
  leave(jobId)
end
local reclaimed = reclaim()
local promoted = promote()
tidy()
return {'', '', promoted, reclaimed, held}
`,
);

/** ARGV: jobId, owner → 1 when the job is back to admitted-not-started (for another worker), else 0. */
export const HAND_BACK = new RedisScript(
  'gate-hand-back',
  `${PRELUDE}
local jobId, owner = ARGV[4], ARGV[5]
if not redis.call('ZSCORE', active, jobId) or redis.call('HGET', owners, jobId) ~= owner then return 0 end
redis.call('ZADD', active, 0, jobId)
redis.call('HDEL', owners, jobId)
return 1
`,
);

/**
 * ARGV: jobId → {status, detail, promoted, reclaimed}; status removed (it had not started: it is
 * out of the gate and will never start), running, done or absent.
 */
export const CANCEL = new RedisScript(
  'gate-cancel',
  `${PRELUDE}
local jobId = ARGV[4]
local status = ''
local score = redis.call('ZSCORE', active, jobId)
if redis.call('ZSCORE', wait, jobId) or (score and tonumber(score) == 0) then
  leave(jobId)
  status = 'removed'
elseif score then
  status = 'running'
elseif redis.call('ZSCORE', done, jobId) then
  status = 'done'
else
  status = 'absent'
end
local reclaimed = reclaim()
local promoted = promote()
tidy()
return {status, '', promoted, reclaimed}
`,
);

/** Reclaims and promotes for one flow: the reconciler's sweep. → {'', '', promoted, reclaimed} */
export const SWEEP = new RedisScript(
  'gate-sweep',
  `${PRELUDE}
local reclaimed = reclaim()
local promoted = promote()
tidy()
return {'', '', promoted, reclaimed}
`,
);

/**
 * ARGV: jobIds... → per job {state, value, since}: waiting (position), admitted, running (lease
 * expiry), expired (lease expiry), done (when) or absent. Read-only.
 */
export const INSPECT = new RedisScript(
  'gate-inspect',
  `${PRELUDE}
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local state, value = 'absent', ''
  local score = redis.call('ZSCORE', active, id)
  if score then
    local lease = tonumber(score)
    if lease == 0 then state = 'admitted'
    elseif lease < now then state = 'expired'; value = score
    else state = 'running'; value = score end
  elseif redis.call('ZSCORE', wait, id) then
    state = 'waiting'; value = tostring(redis.call('ZRANK', wait, id) + 1)
  else
    local finished = redis.call('ZSCORE', done, id)
    if finished then state = 'done'; value = finished end
  end
  out[#out + 1] = {state, value, redis.call('HGET', since, id) or ''}
end
return out
`,
);
