"""AWS through boto3: S3, EC2 and RDS settings as facts, with Describe/Get/List calls only
(`api`), account-wide discovery (`discovery`) and the probe (`probe`)."""
