"""The AWS adapters, one module per service and per aggregate: the SDK's clients (`clients`), the
seatkeeper table (`dynamodb`, one repository module per aggregate), Secrets Manager (`vault`), the
staging bucket in S3 (`staging`), EventBridge (`events`), Step Functions (`workflows`), the SaaS
client of a connected profile as the functions assemble it (`connected`), and the Slack and Teams
channels with their secrets (`channels`).

May import every other subpackage; none imports it.
"""
