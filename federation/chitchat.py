"""Seeded synthetic chit-chat: what a hotline's chat hears that is for no department.

Departments' own files hold citizens' requests, rarely small talk, so a model trained on them alone
routes every "你是机器人吗" to some department. Every department can generate these rows itself (they
are written here, public, and hold nobody's data) and train them as `out_of_scope` (run config
`out-of-scope-rows`; off by default, since it costs some routing accuracy). The phrases are composed
from templates about the assistant, moods, opinions, food and bare fillers, so that short
conversational messages in general, not a list of sentences, score as out of scope
(docs/bench/federation.md, "Synthetic out-of-scope rows"). The bootstrap's synthetic requests take
their chit-chat from here too.
"""

from __future__ import annotations

import random

_WHAT_YOU_ARE = ["机器人", "真人", "男生还是女生", "人工智能", "小学生", "我的朋友", "傻瓜", "天才", "客服", "单身", "程序", "外星人", "谁"]
_WHAT_YOU_LIKE = ["吃什么", "什么颜色", "什么动物", "唱歌", "看电影", "什么运动", "我", "打游戏", "下雨天", "夏天还是冬天", "猫还是狗", "哪个明星", "喝奶茶", "旅游"]
_WHAT_YOU_CAN = ["唱歌", "跳舞", "讲笑话", "陪我聊天", "说英语", "写诗", "猜谜语", "算数学题", "做饭", "谈恋爱", "骂人", "讲故事", "学猫叫"]
_MOODS = ["无聊", "开心", "难过", "累", "饿", "困", "烦", "伤心", "生气", "孤单", "紧张", "高兴", "郁闷", "想哭"]
_DEGREES = ["好", "很", "有点", "特别", "超级", "真的好", "今天好"]
_TOPICS = ["人生", "爱情", "这首歌", "我的名字", "今天的天气", "周末", "我男朋友", "我女朋友", "你自己", "这部电影", "我的发型", "中国足球", "猫", "学习", "上班"]
_PEOPLE = ["你爸爸", "你妈妈", "你男朋友", "你女朋友", "你老板", "你的主人", "你朋友", "你老师"]
_FOODS = ["火锅", "饺子", "面条", "冰淇淋", "烤鸭", "炸鸡", "西瓜", "巧克力"]
_ADJECTIVES = ["聪明", "笨", "可爱", "厉害", "无聊", "搞笑", "傻", "漂亮", "冷漠", "好玩", "啰嗦", "温柔"]
_FILLERS = [
    "哈哈", "哈哈哈哈", "嗯嗯", "好的", "对啊", "是吗", "为什么", "然后呢", "真的吗", "不知道", "随便", "算了", "好吧", "呵呵", "厉害",
    "晚安", "早安", "拜拜", "再见", "谢谢", "么么哒", "没意思", "你猜", "我不信", "无语", "666", "嘿嘿", "在吗", "你好", "喂",
]
_TEMPLATES = [
    "你是{are}吗", "你是不是{are}", "你到底是{are}", "你喜欢{like}", "你喜不喜欢{like}", "你会{can}吗", "你能{can}吗", "给我{can}",
    "我{degree}{mood}", "我{degree}{mood}啊", "我今天{degree}{mood}怎么办", "你{mood}吗", "你觉得{topic}怎么样", "你怎么看{topic}",
    "{topic}有什么意义", "你多大了", "你几岁了", "你叫什么名字", "你住在哪里", "你吃饭了吗", "你在干嘛", "你睡了吗", "你结婚了吗",
    "你有{people}吗", "{people}是谁", "你爱我吗", "我爱你", "我喜欢你", "你真{adjective}", "你好{adjective}啊", "你怎么这么{adjective}",
    "我想吃{food}", "{food}好吃吗", "你吃过{food}吗", "陪我聊会儿天", "说点什么吧", "我们聊点别的", "你知道我是谁吗", "你记得我吗",
    "我刚才说了什么", "你听得懂吗", "你在想什么", "你有梦想吗", "你会不会累", "你每天都做什么", "你有没有朋友", "今天过得怎么样",
    "你开心吗", "你为什么不理我", "{filler}", "{filler}{filler}", "{filler}，{filler}",
]
_OPENINGS = ["", "", "", "嗯，", "哎，", "那"]
_ENDINGS = ["", "", "", "？", "呀", "~", "呢", "!"]


def generate_chitchat(count: int, *, seed: int = 0) -> list[str]:
    """`count` chit-chat messages, the same ones for the same seed (repeats are possible)."""
    rng = random.Random(seed)
    messages = []
    for _ in range(count):
        text = rng.choice(_TEMPLATES).format(
            are=rng.choice(_WHAT_YOU_ARE),
            like=rng.choice(_WHAT_YOU_LIKE),
            can=rng.choice(_WHAT_YOU_CAN),
            mood=rng.choice(_MOODS),
            degree=rng.choice(_DEGREES),
            topic=rng.choice(_TOPICS),
            people=rng.choice(_PEOPLE),
            adjective=rng.choice(_ADJECTIVES),
            food=rng.choice(_FOODS),
            filler=rng.choice(_FILLERS),
        )
        messages.append(rng.choice(_OPENINGS) + text + rng.choice(_ENDINGS))
    return messages
