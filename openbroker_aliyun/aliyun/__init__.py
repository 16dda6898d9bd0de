"""aliyun."""
