"""Short chat lines in the mix a Chinese storefront sees: Chinese, English, both at once."""

from __future__ import annotations

import random

LINES = (
    "你好，请问这件连衣裙有M码吗？",
    "Hi, is this dress available in size M?",
    "我的订单还没发货 order #A1024",
    "Can I change the delivery address? 地址写错了",
    "好的，谢谢！",
    "Thanks, that helps a lot.",
    "这个颜色有现货吗 in stock?",
    "退货流程是怎样的？",
    "How long does shipping to Shanghai take?",
    "优惠券 SAVE20 用不了",
    "我想换一个尺码 size L please",
    "Let me check that for you, 请稍等。",
    "已经帮您改好了 ✓",
    "Is there a discount for two items? 两件有优惠吗",
    "快递单号是多少？tracking number?",
    "明天能到吗？",
)


def pick(rng: random.Random) -> str:
    return rng.choice(LINES)
