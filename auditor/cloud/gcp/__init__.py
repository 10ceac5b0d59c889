"""Google Cloud Storage through google-cloud-storage: bucket IAM policies, ACLs and settings
as facts, with Get/List calls only (`api`), project-wide discovery and the probe."""
