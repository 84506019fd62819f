"""Reading labelled CSVs and spreading them over departments."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from federation.data import DataFileError, parse_partition, partition_indices, read_labelled_csv, stratified_split, write_labelled_csv


def test_by_label_gives_each_department_its_topic_with_misrouted_share():
    labels = ["a"] * 500 + ["b"] * 500 + ["c"] * 500
    parts = partition_indices(labels, 3, parse_partition("by-label:0.2"), seed=1)
    y = np.asarray(labels)
    for d, rows in enumerate(parts):
        own = (y[rows] == "abc"[d]).sum()
        assert 0.75 * 500 < own < 0.85 * 500
    assert sorted(np.concatenate(parts).tolist()) == list(range(1500))


def test_by_label_maps_labels_round_robin_when_fewer_departments():
    labels = ["a", "b", "c", "d"] * 10
    parts = partition_indices(labels, 2, parse_partition("by-label:0"), seed=0)
    y = np.asarray(labels)
    assert set(y[parts[0]]) == {"a", "c"}
    assert set(y[parts[1]]) == {"b", "d"}


def test_dirichlet_small_alpha_skews_and_iid_balances():
    labels = ["a", "b"] * 400
    skew = partition_indices(labels, 4, parse_partition("dirichlet:0.1"), seed=0)
    iid = partition_indices(labels, 4, parse_partition("iid"), seed=0)
    y = np.asarray(labels)
    share_a = [float((y[p] == "a").mean()) for p in skew if len(p) > 20]
    assert max(share_a) - min(share_a) > 0.3
    assert all(150 < len(p) < 250 for p in iid)


@pytest.mark.parametrize("bad", ["random", "dirichlet:", "dirichlet:0", "by-label:1.5"])
def test_bad_partition_specs_name_the_forms(bad):
    with pytest.raises(DataFileError):
        parse_partition(bad)


def test_stratified_split_keeps_every_label_in_test():
    labels = ["a"] * 50 + ["b"] * 10
    train, test = stratified_split(labels, test_fraction=0.2, seed=0)
    y = np.asarray(labels)
    assert (y[test] == "a").sum() == 10 and (y[test] == "b").sum() == 2
    assert not set(train) & set(test)


def test_csv_errors_are_specific(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        read_labelled_csv(tmp_path / "none.csv")
    path = tmp_path / "x.csv"
    path.write_text("title,label\n你好,a\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="missing column"):
        read_labelled_csv(path, text_columns=["title", "detail"], label_column="label")
    path.write_bytes("title,label\n".encode() + "你好,a\n".encode("gbk"))
    with pytest.raises(DataFileError, match="not UTF-8"):
        read_labelled_csv(path, text_columns=["title"])


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_tab_and_semicolon_separated_files_read_like_csv(tmp_path, delimiter):
    path = tmp_path / "x.tsv"
    rows = [["title", "detail", "label"], ["公积金, 提取", "怎么办;急", "fund"], ["噪音", "", "noise"]]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    data = read_labelled_csv(path, text_columns=["title", "detail"])
    assert data.texts == ["公积金, 提取 怎么办;急", "噪音"] and data.labels == ["fund", "noise"]
    with pytest.raises(DataFileError, match="missing column\\(s\\) topic; columns are title, detail, label"):
        read_labelled_csv(path, text_columns=["title"], label_column="topic")


def test_csv_joins_text_columns_and_drops_unlabelled(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("title,detail,label\n主题,详情,a\n无标签,,\n", encoding="utf-8")
    data = read_labelled_csv(path, text_columns=["title", "detail"], label_column="label")
    assert data.texts == ["主题 详情"] and data.labels == ["a"]


def test_messages_of_several_text_columns_keep_each_column_and_write_back_the_same(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("title,detail,label,request_type\n公积金,怎么提取,fund,咨询\n噪音,,noise,投诉\n工资,拖欠三月,wages,\n", encoding="utf-8")
    data = read_labelled_csv(path, text_columns=["title", "detail"], request_type_column="request_type")
    assert data.text_columns == ("title", "detail")
    assert data.column_texts == [("公积金", "怎么提取"), ("噪音", ""), ("工资", "拖欠三月")]
    part = data.subset([2, 0])
    assert part.texts == ["工资 拖欠三月", "公积金 怎么提取"] and part.column_texts == [("工资", "拖欠三月"), ("公积金", "怎么提取")]
    again = read_labelled_csv(write_labelled_csv(tmp_path / "again.csv", part), text_columns=["title", "detail"], request_type_column="request_type")
    assert again == part
    flipped = part.relabelled(["noise", "wages"])
    assert flipped.labels == ["noise", "wages"] and flipped.column_texts == part.column_texts
    with pytest.raises(ValueError, match="1 labels for 2 messages"):
        part.relabelled(["noise"])
    one = read_labelled_csv(path, text_columns=["title"])
    assert one.text_columns == ("title",) and one.column_texts is None
    assert read_labelled_csv(write_labelled_csv(tmp_path / "one.csv", one), text_columns=["title"]) == one
