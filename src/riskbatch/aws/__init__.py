"""The AWS services the jobs talk to, in one place: S3 objects written once (storage), where each thing
lives in the output bucket and a run's identity (layout), and notifications bounded to what SNS and
EventBridge accept (alerts). Nothing here knows the risk model."""
