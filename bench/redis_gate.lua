#!lua name=mtgate_gate
--
-- The Redis side of bench/compare_redis.sh: the decision mtgated makes for a
-- recurring program, as a Redis 7 function, so both servers are measured
-- doing the same work per MT.
--
-- Data model (loaded by compare_redis.sh):
--   c:<number>  a hash per number; field <program> is "1" when opted in,
--               "0" when opted out (no field: never opted in). The period's
--               message counter is field <program>:<period> of the same hash,
--               so a decision touches one key (the cheapest layout Redis
--               offers; a separate counter key would cost another lookup).
--
-- FCALL gate 1 c:<number> <program> <period> <limit>
--   returns mtgate's reason code: 0 ALLOW, 1 NO_OPTIN, 2 OPTED_OUT,
--   7 MSG_LIMIT_EXCEEDED. Like mtgated, only an allowed MT is counted.
--
-- When FUNCTION is missing (Redis < 7) compare_redis.sh drops the first and
-- the last line of this file, appends "return gate(KEYS, ARGV)" and uses
-- the result with EVALSHA: keep the logic in the local function below.

local function gate(keys, args)
	local consent = redis.call('HGET', keys[1], args[1])
	if not consent then
		return 1
	end
	if consent ~= '1' then
		return 2
	end
	local field = args[1] .. ':' .. args[2]
	local used = redis.call('HINCRBY', keys[1], field, 1)
	if used > tonumber(args[3]) then
		redis.call('HINCRBY', keys[1], field, -1)
		return 7
	end
	return 0
end

redis.register_function('gate', gate)
