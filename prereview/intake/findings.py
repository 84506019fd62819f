"""Intake findings: a Chinese message for the citizen and an English detail for the clerk, per code."""

from __future__ import annotations

from prereview.report import Finding, FindingCode

ACCEPTED_FORMATS_ZH = "JPG、PNG、TIFF、WebP、BMP 图片或 PDF 文件"


def _blocking(code: FindingCode, *, file: str, message: str, detail: str, page: int | None = None) -> Finding:
    return Finding(code=code, severity="blocking", file=file, page=page, message=message, detail=detail)


def _page_prefix(page: int | None) -> str:
    return f"第 {page} 页" if page is not None else "文件"


def unsupported_file(*, file: str, detail: str) -> Finding:
    """The bytes are none of the accepted formats."""
    return _blocking(
        FindingCode.unsupported_file, file=file,
        message=f"不支持此文件格式。请上传 {ACCEPTED_FORMATS_ZH}。",
        detail=detail,
    )


def empty_file(*, file: str) -> Finding:
    """The upload holds no bytes at all."""
    return _blocking(
        FindingCode.broken_file, file=file,
        message="文件为空（0 字节），请重新上传。",
        detail="empty upload (0 bytes)",
    )


def file_too_large(*, file: str, size_bytes: int, max_bytes: int) -> Finding:
    """The upload is bigger than max_file_mb."""
    return _blocking(
        FindingCode.file_too_large, file=file,
        message=f"文件超过 {max_bytes / 1048576:g} MB 的大小限制，请压缩或拆分后重新上传。",
        detail=f"{size_bytes} bytes > max_file_mb ({max_bytes} bytes)",
    )


def too_many_pages(*, file: str, total_pages: int | None, max_pages: int) -> Finding:
    """The file has more pages than max_pages; only the first max_pages were decoded."""
    counted = f"共 {total_pages} 页，" if total_pages is not None else ""
    return _blocking(
        FindingCode.too_many_pages, file=file,
        message=f"文件{counted}超过 {max_pages} 页的上限，只检查了前 {max_pages} 页。请拆分后重新上传。",
        detail=f"{total_pages if total_pages is not None else 'more than ' + str(max_pages)} pages > max_pages "
        f"({max_pages}); pages after {max_pages} were not decoded",
    )


def image_too_large(*, file: str, page: int | None, detail: str) -> Finding:
    """A page declares more pixels (or a longer side) than allowed: a decompression bomb or an oversized scan."""
    return _blocking(
        FindingCode.image_too_large, file=file, page=page,
        message=f"{_page_prefix(page)}图片尺寸过大，无法处理。请缩小图片（或降低扫描分辨率）后重新上传。",
        detail=detail,
    )


def encrypted_pdf(*, file: str, detail: str) -> Finding:
    """The PDF needs a password to open."""
    return _blocking(
        FindingCode.encrypted_pdf, file=file,
        message="PDF 文件设有密码，无法打开。请取消密码保护后重新上传。",
        detail=detail,
    )


def broken_file(*, file: str, detail: str, page: int | None = None) -> Finding:
    """The file (or one page of it) is corrupt, truncated or cannot be decoded."""
    return _blocking(
        FindingCode.broken_file, file=file, page=page,
        message=f"{_page_prefix(page)}已损坏或不完整，无法打开。请重新导出或重新上传。",
        detail=detail,
    )


def truncated_file(*, file: str, detail: str) -> Finding:
    """The file ends early, usually an interrupted upload."""
    return _blocking(
        FindingCode.broken_file, file=file,
        message="文件不完整（可能上传中断），请重新上传完整文件。",
        detail=detail,
    )


def too_complex(*, file: str, detail: str) -> Finding:
    """The PDF exceeds a structural or memory limit (objects, stream size, worker memory)."""
    return _blocking(
        FindingCode.broken_file, file=file,
        message="文件结构过于复杂，无法安全处理。请重新导出为普通 PDF 或图片后上传。",
        detail=detail,
    )


def processing_timeout(*, file: str, detail: str, page: int | None = None) -> Finding:
    """Decoding ran past pdf_timeout_s or page_timeout_s."""
    return _blocking(
        FindingCode.processing_timeout, file=file, page=page,
        message=f"{_page_prefix(page)}处理超时，可能过于复杂。请重新导出为普通 PDF 或图片后上传。",
        detail=detail,
    )


def unreadable_page(*, file: str, page: int, detail: str) -> Finding:
    """One page could not be rendered or decoded although the file opened."""
    return _blocking(
        FindingCode.unreadable_page, file=file, page=page,
        message=f"第 {page} 页无法读取，请检查该页后重新上传。",
        detail=detail,
    )
