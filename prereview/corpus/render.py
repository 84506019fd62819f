"""Render synthetic documents with CJK fonts: ID card front/back, business licence, forms, lease, power of attorney."""

from __future__ import annotations

import datetime as dt
import math
import random
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from prereview.corpus.people import Business, Person

FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)
INK = (25, 25, 30)
SEAL_RED = (210, 30, 35)


class FontMissingError(RuntimeError):
    """No CJK font is installed (install fonts-noto-cjk or fonts-wqy-microhei)."""


@lru_cache(maxsize=1)
def font_path() -> Path:
    """The first installed CJK font."""
    for candidate in FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FontMissingError("no CJK font found; install fonts-noto-cjk or fonts-wqy-microhei")


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    """The CJK font at ``size`` pixels."""
    return ImageFont.truetype(str(font_path()), size)


def cn_date(day: dt.date) -> str:
    """2020年1月2日."""
    return f"{day.year}年{day.month}月{day.day}日"


def dotted(day: dt.date) -> str:
    """2020.01.02."""
    return f"{day:%Y.%m.%d}"


def _paper(width: int, height: int, tint: tuple[int, int, int] = (250, 249, 245)) -> Image.Image:
    return Image.new("RGB", (width, height), tint)


def draw_signature(draw: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, int, int, int]) -> None:
    """A cursive, handwritten-looking scribble inside ``box`` (blue-black ink)."""
    x0, y0, x1, y1 = box
    colour = rng.choice(((20, 30, 90), (15, 15, 20), (30, 40, 110)))
    points = []
    strokes = rng.randint(3, 5)
    for stroke in range(strokes):
        start = x0 + (x1 - x0) * stroke / strokes
        for step in range(24):
            t = step / 23
            x = start + (x1 - x0) / strokes * t * 1.2
            y = (y0 + y1) / 2 + (y1 - y0) * 0.38 * math.sin(t * math.pi * rng.uniform(2.0, 4.0) + stroke)
            points.append((x + rng.uniform(-1.5, 1.5), y + rng.uniform(-1.5, 1.5)))
    draw.line(points, fill=colour, width=rng.randint(3, 4), joint="curve")
    tail_y = (y0 + y1) / 2 + rng.uniform(-4, 8)
    draw.line([(points[-1][0], points[-1][1]), (x1, tail_y), (x1 - (x1 - x0) * 0.3, tail_y + 6)], fill=colour, width=3)


def draw_seal(image: Image.Image, rng: random.Random, centre: tuple[int, int], radius: int, text: str,
              bottom: str = "") -> None:
    """A red official seal: ring, star, organisation name around the upper arc, optional bottom line."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    cx, cy = centre
    colour = (*SEAL_RED, rng.randint(200, 235))
    ring = max(3, radius // 22)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=colour, width=ring)
    star_r = radius * 0.28
    star = []
    for k in range(10):
        angle = -math.pi / 2 + k * math.pi / 5
        r = star_r if k % 2 == 0 else star_r * 0.4
        star.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(star, fill=colour)
    size = max(10, int(radius * 0.27))
    glyph_font = font(size)
    span = min(math.radians(250), math.radians(24) * len(text))
    for index, char in enumerate(text):
        angle = -math.pi / 2 - span / 2 + span * (index + 0.5) / len(text)
        glyph = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((size, size), char, font=glyph_font, fill=colour, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        r = radius - ring - size * 0.75
        gx, gy = cx + r * math.cos(angle), cy + r * math.sin(angle)
        layer.alpha_composite(glyph, (int(gx - size), int(gy - size)))
    if bottom:
        draw.text((cx, cy + radius * 0.5), bottom, font=font(max(9, int(radius * 0.18))), fill=colour, anchor="mm")
    image.paste(layer, (0, 0), layer)


def id_card_front(person: Person, *, id_number: str | None = None, birth_text: str | None = None) -> Image.Image:
    """Front of a resident ID card (the side with the portrait), 856×540 px."""
    image = _paper(856, 540, (236, 240, 238))
    draw = ImageDraw.Draw(image)
    for y in range(0, 540, 6):
        draw.line([(0, y), (856, y + 30)], fill=(226, 233, 232), width=1)
    label, value = font(26), font(30)
    grey = (70, 90, 110)
    draw.text((60, 60), "姓名", font=label, fill=grey)
    draw.text((150, 56), person.name, font=value, fill=INK)
    draw.text((60, 130), "性别", font=label, fill=grey)
    draw.text((150, 126), person.sex, font=value, fill=INK)
    draw.text((260, 130), "民族", font=label, fill=grey)
    draw.text((350, 126), person.ethnicity, font=value, fill=INK)
    birth = birth_text or f"{person.birth.year}年 {person.birth.month}月 {person.birth.day}日"
    draw.text((60, 200), "出生", font=label, fill=grey)
    draw.text((150, 196), birth, font=value, fill=INK)
    draw.text((60, 270), "住址", font=label, fill=grey)
    address = person.address
    draw.text((150, 266), address[:13], font=value, fill=INK)
    if len(address) > 13:
        draw.text((150, 310), address[13:], font=value, fill=INK)
    draw.text((60, 440), "公民身份号码", font=label, fill=grey)
    draw.text((250, 436), id_number or person.id_number, font=font(34), fill=INK)
    draw.rounded_rectangle((600, 70, 800, 330), radius=10, fill=(205, 212, 218))
    draw.ellipse((650, 110, 750, 210), fill=(150, 160, 170))
    draw.pieslice((615, 210, 785, 400), 180, 360, fill=(150, 160, 170))
    return image


def id_card_back(person: Person, *, valid_to: dt.date | None | str = "person") -> Image.Image:
    """Back of a resident ID card (national emblem side), 856×540 px."""
    end = person.valid_to if valid_to == "person" else valid_to
    image = _paper(856, 540, (236, 240, 238))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 40, 200, 180), outline=(200, 40, 40), width=6)
    draw.text((130, 110), "★", font=font(60), fill=(200, 40, 40), anchor="mm")
    draw.text((260, 60), "中华人民共和国", font=font(44), fill=INK)
    draw.text((280, 130), "居民身份证", font=font(56), fill=INK)
    grey = (70, 90, 110)
    draw.text((150, 360), "签发机关", font=font(26), fill=grey)
    draw.text((290, 356), person.authority, font=font(30), fill=INK)
    draw.text((150, 430), "有效期限", font=font(26), fill=grey)
    term = f"{dotted(person.valid_from)}-{dotted(end) if isinstance(end, dt.date) else '长期'}"
    draw.text((290, 426), term, font=font(30), fill=INK)
    return image


def business_licence(business: Business, rng: random.Random, *, uscc: str | None = None, seal: bool = True,
                     legal_representative: str | None = None, term: str = "长期") -> Image.Image:
    """A business licence (营业执照) page with its 营业期限 and the registrar's red seal, 1100×1400 px."""
    image = _paper(1100, 1400, (252, 250, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 1070, 1370), outline=(180, 140, 60), width=10)
    draw.text((550, 150), "营 业 执 照", font=font(84), fill=(190, 30, 30), anchor="mm")
    draw.text((550, 240), "（副　本）", font=font(34), fill=INK, anchor="mm")
    draw.text((110, 300), f"统一社会信用代码  {uscc or business.uscc}", font=font(32), fill=INK)
    rows = (
        ("名　　称", business.name),
        ("类　　型", business.kind),
        ("法定代表人" if "公司" in business.kind else "经 营 者", legal_representative or business.legal_representative),
        ("注册资本", business.capital),
        ("成立日期", cn_date(business.founded)),
        ("营业期限", term),
        ("住　　所", business.address),
    )
    y = 400
    for label, value in rows:
        draw.text((110, y), label, font=font(32), fill=INK)
        # A term (2015年03月02日至2035年03月01日) stays on one line, in a smaller size.
        width = 24 if label == "营业期限" else 20
        draw.text((330, y), value[:width], font=font(28 if label == "营业期限" else 32), fill=INK)
        if len(value) > width:
            y += 52
            draw.text((330, y), value[width:], font=font(32), fill=INK)
        y += 85
    draw.text((620, 1140), "登记机关", font=font(32), fill=INK)
    issued = business.founded + dt.timedelta(days=rng.randint(0, 30))
    draw.text((700, 1260), cn_date(issued), font=font(30), fill=INK)
    if seal:
        draw_seal(image, rng, (820, 1170), 130, business.registrar)
    return image


def application_form(title: str, fields: list[tuple[str, str]], rng: random.Random, *, signature: bool = True,
                     seal_name: str | None = None, signer_label: str = "申请人签名") -> Image.Image:
    """A filled-in application form: labelled fields, a signature line, optionally the applicant's seal."""
    image = _paper(1100, 1400, (253, 253, 251))
    draw = ImageDraw.Draw(image)
    draw.text((550, 110), title, font=font(46), fill=INK, anchor="mm")
    y = 220
    for label, value in fields:
        draw.rectangle((90, y - 15, 1010, y + 55), outline=(120, 120, 120), width=2)
        draw.text((110, y), f"{label}：", font=font(30), fill=INK)
        draw.text((110 + 32 * (len(label) + 1), y), value, font=font(30), fill=(20, 20, 70))
        y += 70
    y += 60
    draw.text((110, y), "本人承诺所填写内容及提交材料真实、合法、有效。", font=font(28), fill=INK)
    y += 140
    draw.text((110, y), f"{signer_label}：", font=font(30), fill=INK)
    if signature:
        draw_signature(draw, rng, (330, y - 25, 560, y + 50))
    draw.text((640, y), "日期：", font=font(30), fill=INK)
    if seal_name:
        draw_seal(image, rng, (820, y - 120), 115, seal_name)
    return image


def lease_contract(lessor: str, lessee: str, address: str, start: dt.date, end: dt.date, rent: int,
                   rng: random.Random, *, signatures: bool = True) -> Image.Image:
    """A one-page house lease contract (房屋租赁合同) with both parties' signatures."""
    image = _paper(1100, 1400, (253, 252, 248))
    draw = ImageDraw.Draw(image)
    draw.text((550, 110), "房屋租赁合同", font=font(50), fill=INK, anchor="mm")
    lines = (
        f"出租方（甲方）：{lessor}",
        f"承租方（乙方）：{lessee}",
        f"房屋地址：{address}",
        f"租赁期限：{cn_date(start)}至{cn_date(end)}",
        f"月租金：人民币{rent}元",
        "一、甲方保证对出租房屋享有处分权。",
        "二、乙方应按时支付租金，不得擅自转租。",
        "三、租赁期满，乙方应如期归还房屋。",
        "四、本合同一式两份，甲乙双方各执一份。",
    )
    y = 220
    for line in lines:
        draw.text((100, y), line[:30], font=font(30), fill=INK)
        if len(line) > 30:
            y += 50
            draw.text((100, y), line[30:], font=font(30), fill=INK)
        y += 80
    y += 80
    draw.text((100, y), "甲方（签字）：", font=font(30), fill=INK)
    draw.text((580, y), "乙方（签字）：", font=font(30), fill=INK)
    if signatures:
        draw_signature(draw, rng, (320, y - 20, 520, y + 50))
        draw_signature(draw, rng, (800, y - 20, 1000, y + 50))
    return image


def power_of_attorney(principal: str, agent: str, agent_id: str, matter: str, rng: random.Random, *,
                      signature: bool = True) -> Image.Image:
    """A power of attorney (授权委托书) signed by the principal."""
    image = _paper(1100, 1400, (253, 253, 250))
    draw = ImageDraw.Draw(image)
    draw.text((550, 110), "授权委托书", font=font(50), fill=INK, anchor="mm")
    lines = (
        f"委托人：{principal}",
        f"受托人：{agent}",
        f"受托人身份证号码：{agent_id}",
        f"委托事项：代为办理{matter}",
        "委托权限：提交材料、领取文书。",
    )
    y = 240
    for line in lines:
        draw.text((100, y), line, font=font(30), fill=INK)
        y += 90
    y += 120
    draw.text((100, y), "委托人签字：", font=font(30), fill=INK)
    if signature:
        draw_signature(draw, rng, (300, y - 20, 520, y + 50))
    return image
