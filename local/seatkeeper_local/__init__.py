"""The local stack: template.yaml's resources on moto, its functions in-process, its HTTP API on 127.0.0.1."""
