-- wrk script: replay pre-built POST requests from a file, one per line:
--   "Header: value<US>Header: value<TAB>body"
-- Thread k of n sends lines k, k+n, k+2n, ... (wrapping), so threads never repeat each other
-- until the file is used up. Arguments: <file> <threads>.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local index = 0

function init(args)
  local path, n = args[1], tonumber(args[2])
  local line_no = 0
  for line in io.lines(path) do
    if line_no % n == tid then
      local head, body = line:match("^([^\t]*)\t(.*)$")
      local headers = {}
      for pair in string.gmatch(head, "[^\31]+") do
        local k, v = pair:match("^([^:]+): (.*)$")
        headers[k] = v
      end
      requests[#requests + 1] = wrk.format("POST", nil, headers, body)
    end
    line_no = line_no + 1
  end
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
