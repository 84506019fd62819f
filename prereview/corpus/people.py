"""Seeded synthetic identities: people with valid resident ID numbers, businesses with valid USCCs."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from prereview.checks.identifiers import USCC_CHARSET, id_check_digit, uscc_check_char

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强文斌晓东海燕春梅丽娟宇航子涵梓萱浩然欣怡俊杰思远雨泽佳怡"
ETHNICITIES = ("汉", "汉", "汉", "汉", "汉", "回", "满", "壮", "苗", "土家")
# (region code, province-city-district text, issuing police bureau)
REGIONS = (
    ("110105", "北京市朝阳区", "北京市公安局朝阳分局"),
    ("310115", "上海市浦东新区", "上海市公安局浦东分局"),
    ("440106", "广东省广州市天河区", "广州市公安局天河分局"),
    ("330106", "浙江省杭州市西湖区", "杭州市公安局西湖区分局"),
    ("510107", "四川省成都市武侯区", "成都市公安局武侯区分局"),
    ("420106", "湖北省武汉市武昌区", "武汉市公安局武昌分局"),
    ("430105", "湖南省长沙市开福区", "长沙市公安局开福分局"),
    ("350102", "福建省福州市鼓楼区", "福州市公安局鼓楼分局"),
)
STREETS = ("人民路", "建设路", "解放大道", "中山路", "和平街", "幸福路", "滨江路", "文化路", "新华街", "光明路")
BUSINESS_WORDS = ("鑫源", "福满楼", "味之道", "百味", "好邻居", "晨光", "天天鲜", "禾丰", "一品", "惠民", "悦来", "金穗")
BUSINESS_KINDS = ("餐饮店", "便利店", "小吃店", "食品商行", "面馆", "水果店", "奶茶店", "烘焙坊")
COMPANY_TYPES = ("个体工商户", "有限责任公司（自然人独资）", "有限责任公司（自然人投资或控股）")


@dataclass(frozen=True)
class Person:
    """A synthetic resident with a resident ID number valid under GB 11643."""

    name: str
    sex: str
    ethnicity: str
    birth: dt.date
    address: str
    id_number: str
    authority: str
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True)
class Business:
    """A synthetic market entity with a USCC valid under GB 32100."""

    name: str
    uscc: str
    kind: str
    legal_representative: str
    capital: str
    founded: dt.date
    address: str
    registrar: str


def random_name(rng: random.Random) -> str:
    """A plausible two- or three-character Chinese name."""
    surname = rng.choice(SURNAMES)
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return surname + given


def random_address(rng: random.Random, region_text: str) -> str:
    """A street address inside the given district."""
    return f"{region_text}{rng.choice(STREETS)}{rng.randint(1, 399)}号{rng.randint(1, 30)}栋{rng.randint(101, 2808)}室"


def make_id_number(region: str, birth: dt.date, sequence: int, male: bool) -> str:
    """A GB 11643 resident ID number whose sequence parity matches the sex."""
    sequence = sequence - sequence % 2 + (1 if male else 0)
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


def make_person(rng: random.Random, *, application_date: dt.date) -> Person:
    """A random adult whose ID card is valid on ``application_date``."""
    region, region_text, authority = rng.choice(REGIONS)
    birth = dt.date(rng.randint(1960, 2002), rng.randint(1, 12), rng.randint(1, 28))
    male = rng.random() < 0.5
    age = application_date.year - birth.year
    issued_year = application_date.year - rng.randint(1, 9)
    valid_from = dt.date(issued_year, rng.randint(1, 12), rng.randint(1, 28))
    if age - (application_date.year - issued_year) >= 46:
        valid_to = None
    else:
        span = 10 if age - (application_date.year - issued_year) < 26 else 20
        valid_to = valid_from.replace(year=valid_from.year + span)
        if valid_to <= application_date:
            valid_to = valid_from.replace(year=valid_from.year + 20)
    return Person(
        name=random_name(rng),
        sex="男" if male else "女",
        ethnicity=rng.choice(ETHNICITIES),
        birth=birth,
        address=random_address(rng, region_text),
        id_number=make_id_number(region, birth, rng.randint(10, 998), male),
        authority=authority,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def make_uscc(rng: random.Random, region: str) -> str:
    """A GB 32100 unified social credit code registered in ``region``."""
    body = "92" if rng.random() < 0.5 else "91"
    body += region + "".join(rng.choice(USCC_CHARSET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc_check_char(body)


def make_business(rng: random.Random, owner: Person) -> Business:
    """A business run by ``owner``, registered in the owner's district."""
    region = owner.id_number[:6]
    region_text = next(text for code, text, _ in REGIONS if code == region)
    district = region_text.split("市")[-1]
    return Business(
        name=f"{region_text.split('省')[-1].split('市')[0]}市{district}{rng.choice(BUSINESS_WORDS)}{rng.choice(BUSINESS_KINDS)}",
        uscc=make_uscc(rng, region),
        kind=rng.choice(COMPANY_TYPES),
        legal_representative=owner.name,
        capital=f"{rng.choice((3, 5, 10, 20, 50, 100))}万元人民币",
        founded=dt.date(rng.randint(2012, 2023), rng.randint(1, 12), rng.randint(1, 28)),
        address=random_address(rng, region_text),
        registrar=f"{region_text.split('省')[-1]}市场监督管理局",
    )
