-- POST /api/v1/auth/login as a random seeded user (benchN@example.com,
-- N from 1 to USERS) with the password every seeded user has.
--   wrk ... -s bench/login.lua URL -- USERS PASSWORD

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")
setup = common.setup
done = common.done

local users, password
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  users = tonumber(args[1])
  password = args[2]
  assert(users and users >= 1 and password, "usage: -- USERS PASSWORD")
  math.randomseed(os.time() * 1000 + (id or 1) * 7919)
end

function request()
  local body = string.format('{"username":"bench%d@example.com","password":"%s"}',
    math.random(1, users), password)
  return wrk.format("POST", "/api/v1/auth/login", headers, body)
end
