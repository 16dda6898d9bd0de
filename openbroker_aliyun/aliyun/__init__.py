"""The port to Alibaba Cloud and its V1 SDK transport.

Brokers depend on ``AliyunPort`` and ``AliyunError`` (``port``) and use ``classify`` /
``describe_for_user`` (``errors``) to turn failures into outcomes. The transport,
``openbroker_aliyun.aliyun.sdk_client.SdkAliyunClient``, is built from ``AliyunSettings``;
``metrics.aliyun_call_observer()`` counts its calls in the ``aliyun_*`` metrics. The
package, the emulator and the brokers need the ``aliyun`` extra (the SDKs); the library's
core never imports them.
"""

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify, describe_for_user
from openbroker_aliyun.aliyun.port import AliyunError, AliyunPort, Product
from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.settings import AliyunSettings

__all__ = [
    "AliyunError",
    "AliyunPort",
    "AliyunSettings",
    "ErrorCategory",
    "Product",
    "RetryPolicy",
    "classify",
    "describe_for_user",
]
