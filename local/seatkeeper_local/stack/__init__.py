"""The local stack itself: template.yaml read (template), its resources on moto (aws), its Lambda functions
run in this process (functions), its HTTP API on 127.0.0.1 (gateway), its schedules fired (schedules),
local JWTs (tokens), the logs dressed for a console (console), and all of it started and stopped
together (local_stack).

It may import the domain package (seatkeeper) and seatkeeper_local.ports; never the demo, the fakes or
the CLI. Kept free of imports: `seatkeeper token` must not pay for moto.
"""
