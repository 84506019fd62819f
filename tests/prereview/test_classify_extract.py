import pytest

from guides import DocumentType
from prereview.classify import classify_page
from prereview.extract import canonical_fields, extract_fields
from prereview.pages import TextLine


def lines(*texts):
    return [TextLine(text, (10, 40 * index, 400, 40 * index + 30), 0.99) for index, text in enumerate(texts)]


ID_FRONT = lines("姓名张三", "性别男民族汉", "出生1990年1月2日", "住址北京市朝阳区人民路1号", "2栋101室",
                 "公民身份号码", "11O1O519900102OO16")
ID_BACK = lines("中华人民共和国", "居民身份证", "签发机关", "北京市公安局朝阳分局", "有效期限", "2018.03.01-2038.03.01")


def test_id_card_front_and_back():
    front = classify_page(ID_FRONT, (856, 540))
    assert (front.document_type, front.side) == (DocumentType.id_card, "front")
    back = classify_page(ID_BACK, (856, 540))
    assert (back.document_type, back.side) == (DocumentType.id_card, "back")
    fields = extract_fields(DocumentType.id_card, ID_FRONT)
    assert fields == {"姓名": "张三", "性别": "男", "民族": "汉", "出生": "1990年1月2日",
                      "住址": "北京市朝阳区人民路1号2栋101室", "公民身份号码": "110105199001020016"}
    back_fields = extract_fields(DocumentType.id_card, ID_BACK)
    assert back_fields == {"签发机关": "北京市公安局朝阳分局", "有效期限": "2018.03.01-2038.03.01"}
    assert canonical_fields(DocumentType.id_card, fields) == {"name": "张三", "id_number": "110105199001020016"}


def test_business_licence_fields_with_separate_label_boxes():
    page = lines("营业执照", "统一社会信用代码 91350100M000100Y43", "名 称", "福州市鼓楼区一品面馆", "类型",
                 "个体工商户", "经营者", "李四", "注册资本", "10万元人民币", "成立日期", "2020年5月6日",
                 "住 所", "福建省福州市鼓楼区中山路8号", "登记机关")
    assert classify_page(page, (1100, 1400)).document_type == DocumentType.business_licence
    fields = extract_fields(DocumentType.business_licence, page)
    assert fields["统一社会信用代码"] == "91350100M000100Y43"
    assert fields["名称"] == "福州市鼓楼区一品面馆"
    assert fields["法定代表人"] == "李四"
    assert fields["成立日期"] == "2020年5月6日"
    assert canonical_fields(DocumentType.business_licence, fields)["entity_name"] == "福州市鼓楼区一品面馆"
    assert "营业期限" not in fields


@pytest.mark.parametrize(
    ("printed", "extracted"),
    [
        (("营业期限", "2015年03月02日至2035年03月01日"), "2015.03.02-2035.03.01"),
        (("营业期限2020.01.01-长期",), "2020.01.01-长期"),
        (("营业期限", "长期"), "长期"),
        (("营业期限", "2015年03月02日起"), "2015年03月02日起"),
    ],
)
def test_business_licence_term(printed, extracted):
    page = lines("营业执照", "统一社会信用代码 91350100M000100Y43", "成立日期", "2015年3月2日", *printed,
                 "住所", "福建省福州市鼓楼区中山路8号", "登记机关")
    fields = extract_fields(DocumentType.business_licence, page)
    assert fields["营业期限"] == extracted
    assert fields["成立日期"] == "2015年3月2日" and fields["住所"] == "福建省福州市鼓楼区中山路8号"


@pytest.mark.parametrize(
    ("texts", "kind"),
    [
        (("房屋租赁合同", "出租方（甲方）：王五", "承租方（乙方）：张三", "月租金：人民币2000元"), DocumentType.lease_contract),
        (("授权委托书", "委托人：张三", "受托人：李四"), DocumentType.power_of_attorney),
        (("住房公积金提取申请表", "申请人姓名：张三", "本人承诺"), DocumentType.application_form),
        (("居民户口簿", "户主姓名 张三", "户号 123"), DocumentType.household_register),
        (("今天天气很好",), DocumentType.other),
    ],
)
def test_classification_by_keywords(texts, kind):
    assert classify_page(lines(*texts), (1000, 1400)).document_type == kind


def test_labelled_form_and_lease_canonical_fields():
    form = extract_fields(DocumentType.application_form, lines("申请表", "经营者姓名：张三", "身份证号码：110105199001020016"))
    assert canonical_fields(DocumentType.application_form, form) == {"name": "张三", "id_number": "110105199001020016"}
    lease = extract_fields(DocumentType.lease_contract, lines("出租方（甲方）：王五", "承租方（乙方）：张三"))
    assert canonical_fields(DocumentType.lease_contract, lease) == {"name": "张三"}
    lease = extract_fields(DocumentType.lease_contract, lines("承租方（乙方）：张三", "房屋地址：北京市朝阳区人民路1号"))
    assert canonical_fields(DocumentType.lease_contract, lease) == {"name": "张三", "address": "北京市朝阳区人民路1号"}
    form = extract_fields(DocumentType.application_form, lines("申请书", "经营者姓名：张三", "经营场所：朝阳区人民路1号"))
    assert canonical_fields(DocumentType.application_form, form)["address"] == "朝阳区人民路1号"
