-- GET PATH with `Authorization: Bearer <credential>`, the credentials taken
-- in turn from a file (one a line); each thread starts at its own line.
--   wrk ... -s bench/bearer.lua URL -- PATH CREDENTIALS_FILE

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")
setup = common.setup
done = common.done

local requests = {}
local next_one = 0

function init(args)
  local path, file = args[1], args[2]
  assert(path and file, "usage: -- PATH CREDENTIALS_FILE")
  for line in io.lines(file) do
    if #line > 0 then
      requests[#requests + 1] =
        wrk.format("GET", path, { ["Authorization"] = "Bearer " .. line })
    end
  end
  assert(#requests > 0, "no credential in " .. file)
  next_one = (id or 1) - 1
end

function request()
  next_one = next_one % #requests + 1
  return requests[next_one]
end
