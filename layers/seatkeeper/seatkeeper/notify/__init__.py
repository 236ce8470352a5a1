"""What seatkeeper tells the world: its events (`events`: the detail-types and the Notices port the domain
puts them through) and the one interface every notification channel sits behind (`channels`).

May import: core. The adapters live above: EventBridge in aws.events, the channels where their service is.
"""
