"""The seatkeeper table in DynamoDB: one repository module per aggregate, the key design written once here.

Single-table design (table name in TABLE_NAME; key schema in template.yaml):

| pk                      | sk               | item                                            |
|-------------------------|------------------|-------------------------------------------------|
| PROFILE#<id>            | PROFILE          | the profile: own fields and the built profile   |
| PROFILE#<id>            | CONNECTION       | connection record (status, error, execution)    |
| PROFILE#<id>            | CREDENTIAL       | credential record: the secret's ARN, no value   |
| PROFILE#<id>            | APP_REGISTRY     | OAuth application registry record               |
| PROFILE#<id>            | CONNECTION_FAILURE | why the last connection attempt failed        |
| PROFILE_NAME#<name>     | PROFILE_NAME     | keeps profile names unique (case-insensitive)   |
| OAUTH_STATE#<state>     | OAUTH_STATE      | an OAuth grant waiting for its callback (TTL)   |
| REFRESH_LOCK#<secret>   | REFRESH_LOCK     | serializes refreshes of one OAuth credential    |
| PROFILE#<id>            | SYNC_LOCK        | one sync at a time per profile (expires_at)     |
| PROFILE#<id>            | SNAPSHOT         | the last committed sync: run, time, user count, |
|                         |                  | the run whose fingerprint object it matches,    |
|                         |                  | its base and how many changes it has gathered   |
| USER_PAGES#<profile id> | <base>#<first id>| a page of a base: up to 1,000 users, gzipped    |
| USERS#<profile id>      | <user id>        | a change to the base: one user, or `left_app`   |
| RUN#<run id>            | RUN              | a sync run: status, progress, error             |
| PROFILE#<id>            | LAST_RUN         | the profile's latest run (its id), with the run |
| PROFILE#<id>            | POSITION         | the latest license position                     |
| PROFILE#<id>            | POSITION#<time>  | every position computed, for the trend          |
| TREND                   | <date>           | the day's sum of every profile's latest position|
| RECONCILIATION#<id>     | RECONCILIATION   | a reconciliation and its result per profile     |
| RECLAMATION#<id>        | RECLAMATION      | a reclamation: candidates, outcomes, audit      |
| RECLAMATION#<id>        | USER#<user id>   | one user's reclaim action, claimed before sent  |
| RECLAMATION#<id>        | DECISION#<user id> | a candidate's answer to their keep link       |
| KEEP#<sha256 of token>  | KEEP             | a keep link: its user, deadline, used_at (TTL)  |
| PROFILE#<id>            | KEPT#<user id>   | a seat its user kept, protected until (TTL)     |
| PROFILE#<id>            | TAKEN_BACK#<user id> | a seat a reclamation took back, and what the |
|                         |                  | first sync after it found (sent / effective /   |
|                         |                  | not_effective): survives the syncs' rewrites    |
| PROFILE#<id>            | RENEWAL_REMINDER#<date>#<days> | a Renewal Approaching put (TTL)   |
| AWAITING_APPROVAL       | <created>#<id>   | a reclamation waiting for an admin (its summary)|
| SAVINGS#<year>          | <finished>#<id>  | what one reclamation finished that year saves   |

GSI1 (gsi1pk, gsi1sk) lists kinds of item in order: gsi1pk=PROFILES, gsi1sk=<created>#<id>;
gsi1pk=RECLAMATIONS#<profile id>, gsi1sk=<created>#<id> (a profile's reclamations).
Items that expire carry `expires_at` (epoch seconds), the table's TTL attribute.
Documents such as the profile are stored as JSON strings: they are read whole, never queried.
A snapshot's users are a base and the changes to it (snapshots.DynamoDBSync says how). Whatever changes a
stored user outside a sync's commit calls `forget_fingerprints` first, so that the next commit
reads the users back instead of trusting the last commit's fingerprint object.

Modules: `table` (the client, leases, conditional writes, and `to_item`/`from_item`, boto3's TypeSerializer
between plain values and typed attributes: an N reads as an int), then one per aggregate:
`profiles`, `connections` (with OAuth grants and refresh locks), `snapshots` (sync runs, snapshots,
their users), `reconciliations` (with positions, the trend and renewal reminders), `reclamations`
(with the approval queue and savings) and `keep_requests` (keep links and their answers). Each
imports the domain models of its own items, where it reads them: a function's cold start imports
the models of the items it touches, not every aggregate's.
"""
