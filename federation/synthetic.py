"""Seeded synthetic citizen requests for the product's first model (templates × slots), and `bootstrap_model`.

The hotline has no labelled history on day one. This generator writes varied messages for every
intent in the taxonomy and every request type, plus out-of-scope chit-chat, so that the first model
routes sensibly until departments train a federated one on real cases.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from federation.chitchat import generate_chitchat
from federation.data import LabelledTexts, stratified_split, write_labelled_csv
from federation.model import OUT_OF_SCOPE, IntentModel
from federation.taxonomy import DEPARTMENTS, INTENTS, REQUEST_TYPES, department_of, intent_labels

BOOTSTRAP_ROUNDS = 5
# Chosen on real citizen messages and real SMP2017 chit-chat (docs/bench/federation.md, Serving):
# 6 % of chit-chat routed, 95 % of citizen messages routed (3 % and 96 % since its chit-chat comes from
# federation.chitchat); min_score 0.5 would reject 15 % of citizens.
BOOTSTRAP_TEMPERATURE = 0.2
BOOTSTRAP_MIN_SCORE = 0.3

# Things a citizen asks about (used by 咨询 / 建议) and problems they report (求助 / 投诉 / 举报).
_NOUNS: dict[str, list[str]] = {
    "market_food_safety": ["食品安全检查", "消费维权", "七天无理由退货", "预付卡退费", "食品经营许可证", "假冒商品鉴定"],
    "market_business_license": ["营业执照", "个体工商户登记", "公司注册", "营业执照年报", "经营范围变更", "企业注销"],
    "police_household": ["户口迁移", "身份证补办", "新生儿落户", "居住证", "临时身份证", "户籍证明"],
    "hrss_wages_employment": ["劳动合同", "失业登记", "就业补贴", "劳动仲裁", "职业技能培训补贴", "灵活就业登记"],
    "hrss_social_insurance": ["养老保险", "社保转移", "退休手续", "社保卡", "工伤认定", "养老金领取"],
    "medical_insurance": ["医保报销", "异地就医备案", "医保卡", "城乡居民医保缴费", "门诊慢特病", "医保个人账户"],
    "housing_fund": ["住房公积金提取", "公积金贷款", "公积金缴存", "公积金转移", "租房提取公积金", "公积金账户"],
    "civil_affairs": ["结婚登记", "离婚登记", "低保申请", "养老院", "残疾人补贴", "高龄津贴"],
    "health_services": ["疫苗接种", "预约挂号", "出生医学证明", "医院收费", "家庭医生签约", "健康证"],
    "traffic_police": ["驾驶证换证", "交通违章处理", "机动车年检", "车辆过户", "电子驾驶证", "事故认定"],
    "housing_construction": ["商品房备案", "物业管理", "老旧小区改造", "房屋维修基金", "建筑施工许可", "公租房申请"],
    "education": ["小学入学", "学位申请", "转学手续", "校外培训机构", "学生资助", "中考报名"],
}
_PROBLEMS: dict[str, list[str]] = {
    "market_food_safety": ["超市卖过期食品", "餐馆后厨卫生很差", "商家拒绝退款", "健身房老板卷款跑路", "网店卖假货", "奶茶店吃出异物"],
    "market_business_license": ["营业执照办了一个月还没下来", "无照经营的店铺", "公司被冒名注册", "执照年报系统登不上", "注销企业一直被卡"],
    "police_household": ["户口迁不进来", "身份证丢了急用", "孩子上不了户口", "派出所办户口推来推去", "户籍信息登记错误"],
    "hrss_wages_employment": ["公司拖欠工资三个月", "老板不签劳动合同", "被公司无故辞退", "加班不给加班费", "工地包工头欠薪跑了"],
    "hrss_social_insurance": ["公司不给交社保", "社保断缴了", "退休金算错了", "社保卡被冻结", "工伤不给认定"],
    "medical_insurance": ["住院费用报销不了", "医保卡被盗刷", "异地看病报销太慢", "药店刷医保卡买生活用品", "医保缴费扣了两次"],
    "housing_fund": ["单位不给缴公积金", "公积金提取被拒", "公积金贷款审批太慢", "公积金少缴了", "离职后公积金取不出来"],
    "civil_affairs": ["低保申请被拒", "养老院虐待老人", "残疾人补贴没发", "婚姻登记预约不上", "流浪人员没人管"],
    "health_services": ["医院乱收费", "医生态度恶劣", "挂不上号", "诊所无证行医", "疫苗预约不到"],
    "traffic_police": ["路口红绿灯坏了", "小区门口车辆乱停", "违章被误罚", "渣土车超速闯红灯", "有人占用消防通道停车"],
    "housing_construction": ["工地夜间施工噪音扰民", "物业乱收费", "开发商延期交房", "楼道墙体开裂", "电梯经常坏"],
    "education": ["学校乱收费", "培训机构跑路不退费", "孩子在学校被欺负", "学位分配不公平", "老师有偿补课"],
}
_TEMPLATES: dict[str, list[str]] = {
    "咨询": [
        "请问{noun}需要带什么材料？",
        "想咨询一下{noun}怎么办理",
        "{noun}在哪里办，网上能办吗",
        "你好，我想了解{noun}的流程和时间",
        "{place}的{noun}去哪个窗口",
        "请问{noun}多久能办好？",
        "{who}想问{noun}有什么条件",
    ],
    "求助": [
        "{problem}，现在该怎么办，求帮忙",
        "急！{problem}，{who}不知道找谁",
        "麻烦帮帮忙，{problem}，已经{time}了",
        "{place}{problem}，希望能帮忙解决",
        "{who}遇到困难：{problem}，请问能帮忙协调吗",
    ],
    "投诉": [
        "我要投诉，{problem}，{time}了没人处理",
        "投诉{place}：{problem}，态度很差",
        "{problem}，多次反映都没结果，强烈投诉",
        "对{place}很不满意，{problem}",
        "实名投诉{problem}，请尽快处理",
    ],
    "举报": [
        "举报{place}{problem}",
        "我要举报：{problem}，地点在{place}",
        "实名举报，{problem}，请相关部门查处",
        "{place}存在{problem}的情况，特此举报",
    ],
    "建议": [
        "建议简化{noun}的手续",
        "希望{noun}能在网上全程办理",
        "建议{place}增加{noun}的办理窗口",
        "对{noun}提个建议：周末也能办就好了",
        "能不能把{noun}的材料清单公开出来，建议改进",
    ],
}
_PLACES = ["城东区", "高新区", "人民路", "解放街道", "幸福小区", "新城街道", "开发区", "市中心", "城南新村", "滨江花园"]
_WHO = ["我", "我家老人", "我妈妈", "我们公司", "我朋友", "孩子家长", "本人"]
_TIMES = ["一个星期", "半个月", "两个月", "好几天", "三个多月", "一年"]
_NOISE_PREFIX = ["", "", "", "您好，", "你好，", "请问，", "麻烦问下，", "12345你好，"]
_NOISE_SUFFIX = ["", "", "", "谢谢！", "谢谢", "，急", "。", "？盼回复"]


def generate_requests(*, seed: int = 0, per_intent_and_type: int = 40, chitchat: int = 300) -> LabelledTexts:
    """Synthetic labelled requests: every intent × request type, plus out-of-scope chit-chat (request type '')."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    types: list[str] = []
    seen: set[str] = set()
    for intent in INTENTS:
        for rtype in REQUEST_TYPES:
            made = tries = 0
            while made < per_intent_and_type and tries < per_intent_and_type * 20:
                tries += 1
                template = rng.choice(_TEMPLATES[rtype])
                text = template.format(
                    noun=rng.choice(_NOUNS[intent.code]),
                    problem=rng.choice(_PROBLEMS[intent.code]),
                    place=rng.choice(_PLACES),
                    who=rng.choice(_WHO),
                    time=rng.choice(_TIMES),
                )
                text = rng.choice(_NOISE_PREFIX) + text + rng.choice(_NOISE_SUFFIX)
                if text in seen:
                    continue
                seen.add(text)
                texts.append(text)
                labels.append(intent.code)
                types.append(rtype)
                made += 1
    texts += generate_chitchat(chitchat, seed=rng.getrandbits(32))
    labels += [OUT_OF_SCOPE] * chitchat
    types += [""] * chitchat
    order = list(range(len(texts)))
    rng.shuffle(order)
    return LabelledTexts([texts[i] for i in order], [labels[i] for i in order], [types[i] for i in order])


def department_partitions(data: LabelledTexts, *, misrouted_share: float = 0.2, seed: int = 0) -> list[LabelledTexts]:
    """Split requests over the catalog's departments: each holds the intents it owns, less a misrouted share.

    A `misrouted_share` of every department's requests lands at a random other department, as
    misrouted cases do on a real hotline; chit-chat is dealt out over all departments.
    """
    rng = random.Random(seed)
    owner = department_of()
    rows: dict[str, list[int]] = {dept: [] for dept in DEPARTMENTS}
    for i, label in enumerate(data.labels):
        home = owner.get(label) or DEPARTMENTS[i % len(DEPARTMENTS)]
        if label in owner and rng.random() < misrouted_share:
            home = rng.choice([d for d in DEPARTMENTS if d != home])
        rows[home].append(i)
    return [data.subset(rows[dept]) for dept in DEPARTMENTS]


def bootstrap_model(out_dir: str | Path, seed: int = 0, *, rounds: int = BOOTSTRAP_ROUNDS) -> IntentModel:
    """Train and save the product's first model: a local federated simulation over the catalog's departments.

    The synthetic requests are split by owning department (`department_partitions`) and trained
    through the real ServerApp/ClientApp code (IDF statistics exchange, class-wise aggregation,
    federated calibration) on the in-process grid, which avoids Ray's 15–30 s start-up. A stratified
    20 % of the requests is held out for the reported macro-F1. Writes `model.npz`/`model.json` into `out_dir`.
    """
    from federation.simulation import run_in_process

    data = generate_requests(seed=seed)
    train_idx, held_idx = stratified_split(data.labels, test_fraction=0.2, seed=seed)
    parts = department_partitions(data.subset(train_idx), seed=seed)
    with tempfile.TemporaryDirectory(prefix="hotline-bootstrap-") as work:
        held_path = write_labelled_csv(Path(work) / "held-out.csv", data.subset(held_idx))
        run_config = {
            "labels": ",".join(intent_labels()),
            "request-types": ",".join(REQUEST_TYPES),
            "num-server-rounds": rounds,
            "eval-data-path": str(held_path),
            "seed": seed,
            # On templates alone, softmax without IDF keeps real chit-chat out of scope far better
            # than the one-vs-rest loss with IDF (docs/bench/federation.md, Serving).
            "loss": "softmax",
            "strategy": "classwise",
            "learning-rate": 10.0,
            "idf-weighting": False,
            "local-epochs": 20,
        }
        metrics = run_in_process(parts, out_dir=Path(work) / "run", run_config=run_config)
        if metrics["failures"] or metrics["skipped_rounds"]:
            raise RuntimeError(f"bootstrap simulation failed: {metrics['failures'] or metrics['skipped_rounds']}")
        model = IntentModel.load(Path(work) / "run")
    model.departments = department_of()
    # The held-out split comes from the same templates and is perfectly separable, so federated
    # calibration would sharpen scores to ~1.0; use the temperature measured on real messages.
    model.temperature = BOOTSTRAP_TEMPERATURE
    model.request_type_temperature = 1.0
    model.min_score = BOOTSTRAP_MIN_SCORE
    final = metrics["final_central"]
    model.metadata = {
        **model.metadata,
        "source": "synthetic-bootstrap",
        "seed": seed,
        "messages": len(data),
        "departments": len(parts),
        "heldout_macro_f1": final.get("macro-f1"),
        "heldout_accuracy": final.get("accuracy"),
        "train_seconds": metrics["train_seconds"],
    }
    model.save(out_dir)
    return model
