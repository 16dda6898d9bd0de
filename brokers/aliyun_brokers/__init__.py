"""aliyun_brokers."""
