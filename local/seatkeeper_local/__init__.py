"""The local stack and the `seatkeeper` command: template.yaml's resources on moto, its functions in-process,
its HTTP API on 127.0.0.1 (stack), the fake servers the demo uses (fakes), the demo story (demo).

Imports run one way: cli -> demo -> fakes, stack and report (none of which imports another) -> ports.
"""
