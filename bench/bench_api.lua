-- SPDX-License-Identifier: Apache-2.0
-- wrk script for bench/bench_api.sh: every request is a POST of the same
-- body. The body and the Basic credentials (base64 of uuid:key) come from
-- the environment, so one script serves both the controller runs
-- (body "{}", auth set) and the direct runs to a container's /run (the
-- invoker's body format, no auth).
--   EW_BENCH_BODY  request body (default "{}")
--   EW_BENCH_AUTH  base64 of uuid:key, or empty for no Authorization header
-- No request()/response() hooks: wrk then sends one pre-built request per
-- call and parses nothing it does not need, so the client stays cheap.
wrk.method = "POST"
wrk.body = os.getenv("EW_BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("EW_BENCH_AUTH")
if auth and auth ~= "" then
	wrk.headers["Authorization"] = "Basic " .. auth
end
