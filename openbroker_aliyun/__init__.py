"""openbroker_aliyun."""
