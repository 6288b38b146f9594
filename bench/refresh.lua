-- POST /api/v1/auth/refresh as a chain per thread: thread K starts with the
-- K-th refresh token of the file (one a line, one session each) and always
-- sends the newest token it was given. Run it with as many threads as
-- connections (-tN -cN): a thread then owns one connection, so its next
-- request leaves only after the answer to the last one, as a client's
-- would. A spent token sent again would be taken as reuse and revoke the
-- session, so every non-2xx answer and every 2xx answer without a new token
-- is counted (`non2xx`, `broken`).
--   wrk -tN -cN ... -s bench/refresh.lua URL -- TOKENS_FILE

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")
setup = common.setup
done = common.done

local token
local headers = { ["Content-Type"] = "application/json" }
non2xx = 0
broken = 0

function init(args)
  local file = args[1]
  assert(file, "usage: -- TOKENS_FILE")
  local tokens = {}
  for line in io.lines(file) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
  token = tokens[id or 1]
  assert(token, "no refresh token for thread " .. tostring(id))
end

function request()
  return wrk.format("POST", "/api/v1/auth/refresh", headers,
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  local next_token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if next_token then
    token = next_token
  else
    broken = broken + 1
  end
end
