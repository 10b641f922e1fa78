"""The catalog every new office starts from: what a kelurahan in Kota Depok really offers.

Each office gets its own copy when it is created (``core.catalog.service.install_template``)
and edits it afterwards. Population-administration services are free by law (UU 24/2013
Pasal 79A), so every fee here is Rp 0; an office that charges a legal retribution edits it.
Services that need document validation or carry large legal weight (ahli waris, rekomendasi
PBG) are counter-only: ``online`` is False and ``counter_note`` says how to apply.
"""

from __future__ import annotations

from typing import Any

from core.models.catalog import COVER_LETTER_REQUIREMENT

ADMINDUK = "UU No. 23 Tahun 2006 jo. UU No. 24 Tahun 2013 tentang Administrasi Kependudukan"
PERPRES_96 = ("Perpres No. 96 Tahun 2018 tentang Persyaratan dan Tata Cara Pendaftaran "
              "Penduduk dan Pencatatan Sipil")
PERMENDAGRI_108 = "Permendagri No. 108 Tahun 2019 tentang Peraturan Pelaksanaan Perpres 96/2018"
PP_KELURAHAN = "PP No. 73 Tahun 2005 tentang Kelurahan"


def req(code: str, name: str, *, upload: bool = True, original: bool = False) -> dict[str, Any]:
    return {"code": code, "name": name, "upload": upload, "original": original}


def field(name: str, label: str, *, required: bool = True, max_length: int = 200,
          kind: str = "text") -> dict[str, Any]:
    """A form field; ``kind`` is its ``type`` (``core.catalog.schemas.FIELD_TYPES``)."""
    if max_length > 200 and kind == "text":
        kind = "long_text"
    return {"name": name, "label": label, "required": required, "max_length": max_length,
            "type": kind}


KTP = req("ktp", "KTP-el pemohon", original=True)
KK = req("kk", "Kartu Keluarga", original=True)
# Issued in the system by the head of the resident's RW (core.requests.cover_letters).
PENGANTAR_RT_RW = req(COVER_LETTER_REQUIREMENT, "Surat pengantar RT/RW", upload=False)
PURPOSE = field("keperluan", "Keperluan surat")

STANDARD_FLOW = [
    "Ajukan permohonan online dan unggah persyaratan",
    "Petugas memverifikasi berkas",
    "Surat diproses dan ditandatangani Lurah",
    "Ambil di kantor atau pilih antar ke rumah; tunjukkan dokumen asli",
]
COUNTER_FLOW = [
    "Datang ke loket kantor pada jam layanan dengan dokumen asli",
    "Petugas memvalidasi dokumen dan saksi",
    "Surat diproses dan ditandatangani Lurah (dan Camat bila perlu)",
    "Ambil surat di loket",
]
COVER_LETTER_FLOW = [
    "Ajukan permohonan online dan unggah persyaratan",
    "Ketua RW menerbitkan surat pengantar RT/RW",
    *STANDARD_FLOW[1:],
]

TEMPLATE: list[dict[str, Any]] = [
    {
        "code": "pengantar-ktp-el", "name": "Surat Pengantar KTP-el",
        "description": "Pengantar kelurahan untuk perekaman atau pencetakan KTP-el (baru, "
                       "hilang, rusak, perubahan data) di Disdukcapil Kota Depok.",
        "legal_basis": [ADMINDUK, PERPRES_96, PERMENDAGRI_108],
        "requirements": [KK, req("akta_lahir", "Akta kelahiran (perekaman baru)",
                                 upload=True),
                         req("surat_kehilangan", "Surat kehilangan dari Kepolisian (jika hilang)",
                             upload=False)],
        "fields": [field("alasan", "Alasan (baru/hilang/rusak/perubahan data)")],
        "processing_days": 1, "needs_cover_letter": True, "deliverable": True,
    },
    {
        "code": "pengantar-kk", "name": "Surat Pengantar Kartu Keluarga",
        "description": "Pengantar untuk penerbitan KK baru, penambahan anggota, atau "
                       "perubahan data KK di Disdukcapil.",
        "legal_basis": [ADMINDUK, PERPRES_96, PERMENDAGRI_108],
        "requirements": [KTP, KK, req("buku_nikah", "Buku nikah / akta perkawinan",
                                      original=True)],
        "fields": [field("alasan", "Jenis perubahan KK")],
        "processing_days": 1, "needs_cover_letter": True,
    },
    {
        "code": "pengantar-akta-kelahiran", "name": "Surat Pengantar Akta Kelahiran",
        "description": "Pengantar untuk pencatatan kelahiran dan penerbitan akta kelahiran.",
        "legal_basis": [ADMINDUK, PERPRES_96],
        "requirements": [req("surat_lahir", "Surat keterangan lahir dari bidan/rumah sakit",
                             original=True), KK, KTP,
                         req("buku_nikah", "Buku nikah orang tua", original=True)],
        "fields": [field("nama_anak", "Nama anak"),
                   field("tanggal_lahir", "Tanggal lahir anak", kind="date")],
        "processing_days": 1,
    },
    {
        "code": "pengantar-akta-kematian", "name": "Surat Keterangan Kematian",
        "description": "Keterangan kematian dari kelurahan untuk pencatatan kematian dan "
                       "penerbitan akta kematian di Disdukcapil.",
        "legal_basis": [ADMINDUK + " (Pasal 44)", PERPRES_96],
        "requirements": [req("surat_kematian", "Surat kematian dari rumah sakit/dokter",
                             original=True),
                         req("ktp_almarhum", "KTP-el almarhum", original=True), KK,
                         req("ktp_pelapor", "KTP-el pelapor")],
        "fields": [field("nama_almarhum", "Nama almarhum"),
                   field("tanggal_meninggal", "Tanggal meninggal", kind="date")],
        "processing_days": 1, "needs_cover_letter": True,
    },
    {
        "code": "domisili", "name": "Surat Keterangan Domisili",
        "description": "Keterangan tempat tinggal warga di wilayah kelurahan.",
        "legal_basis": [ADMINDUK, PP_KELURAHAN],
        "requirements": [KTP, KK],
        "fields": [PURPOSE],
        "processing_days": 1, "needs_cover_letter": True, "digital_copy": True,
    },
    {
        "code": "sktm", "name": "Surat Keterangan Tidak Mampu (SKTM)",
        "description": "Keterangan tidak mampu untuk keringanan biaya sekolah, kesehatan, atau "
                       "bantuan sosial.",
        "legal_basis": ["UU No. 13 Tahun 2011 tentang Penanganan Fakir Miskin",
                        "UU No. 40 Tahun 2004 tentang Sistem Jaminan Sosial Nasional"],
        "requirements": [KTP, KK, req("foto_rumah", "Foto rumah tampak depan")],
        "fields": [PURPOSE],
        "processing_days": 2, "needs_cover_letter": True,
    },
    {
        "code": "sku", "name": "Surat Keterangan Usaha (SKU)",
        "description": "Keterangan bahwa warga menjalankan usaha mikro/kecil di wilayah "
                       "kelurahan, untuk perbankan atau perizinan.",
        "legal_basis": ["UU No. 20 Tahun 2008 tentang Usaha Mikro, Kecil, dan Menengah",
                        "PP No. 7 Tahun 2021 tentang Kemudahan, Pelindungan, dan Pemberdayaan "
                        "Koperasi dan UMKM"],
        "requirements": [KTP, KK, req("foto_usaha", "Foto tempat usaha")],
        "fields": [field("nama_usaha", "Nama usaha"), field("jenis_usaha", "Jenis usaha"),
                   field("alamat_usaha", "Alamat usaha")],
        "processing_days": 2, "needs_cover_letter": True, "digital_copy": True,
    },
    {
        "code": "pengantar-skck", "name": "Surat Pengantar SKCK",
        "description": "Pengantar kelurahan untuk permohonan Surat Keterangan Catatan "
                       "Kepolisian di Polsek/Polres.",
        "legal_basis": ["UU No. 2 Tahun 2002 tentang Kepolisian Negara Republik Indonesia",
                        "Peraturan Kapolri No. 18 Tahun 2014 tentang Tata Cara Penerbitan SKCK"],
        "requirements": [KTP, KK, req("pas_foto", "Pas foto 4x6 latar merah")],
        "fields": [PURPOSE],
        "processing_days": 1, "needs_cover_letter": True,
    },
    {
        "code": "pengantar-nikah", "name": "Surat Pengantar Nikah (N1-N4)",
        "description": "Formulir N1 (pengantar), N2 (permohonan kehendak nikah), N3 "
                       "(persetujuan mempelai) dan N4 (izin orang tua) untuk KUA.",
        "legal_basis": ["UU No. 1 Tahun 1974 jo. UU No. 16 Tahun 2019 tentang Perkawinan",
                        "PMA No. 20 Tahun 2019 tentang Pencatatan Pernikahan"],
        "requirements": [KTP, KK, req("akta_lahir", "Akta kelahiran", original=True),
                         req("ktp_calon", "KTP-el calon pasangan"),
                         req("pas_foto", "Pas foto 2x3 dan 4x6 latar biru"),
                         req("akta_cerai", "Akta cerai/kematian pasangan (jika pernah menikah)",
                             upload=False)],
        "fields": [field("nama_calon", "Nama calon pasangan"),
                   field("tanggal_akad", "Rencana tanggal akad", kind="date")],
        "processing_days": 2, "needs_cover_letter": True,
    },
    {
        "code": "surat-pindah", "name": "Surat Pengantar Pindah Datang/Keluar",
        "description": "Pengantar untuk Surat Keterangan Pindah (SKPWNI) dari Disdukcapil.",
        "legal_basis": [ADMINDUK, PERPRES_96, PERMENDAGRI_108],
        "requirements": [KTP, KK],
        "fields": [field("alamat_tujuan", "Alamat tujuan pindah", max_length=500),
                   field("anggota_pindah", "Anggota keluarga yang pindah", max_length=500)],
        "processing_days": 1, "needs_cover_letter": True,
    },
    {
        "code": "belum-menikah", "name": "Surat Keterangan Belum Menikah",
        "description": "Keterangan status belum pernah menikah untuk melamar kerja atau "
                       "keperluan lain.",
        "legal_basis": [ADMINDUK, PP_KELURAHAN],
        "requirements": [KTP, KK],
        "fields": [PURPOSE],
        "processing_days": 1, "needs_cover_letter": True, "digital_copy": True,
    },
    {
        "code": "keterangan-penghasilan", "name": "Surat Keterangan Penghasilan",
        "description": "Keterangan penghasilan orang tua/warga untuk beasiswa atau keringanan "
                       "biaya.",
        "legal_basis": [PP_KELURAHAN],
        "requirements": [KTP, KK],
        "fields": [PURPOSE, field("penghasilan", "Perkiraan penghasilan per bulan (Rp)",
                                   kind="number")],
        "processing_days": 1, "needs_cover_letter": True,
    },
    {
        "code": "ahli-waris", "name": "Surat Keterangan Ahli Waris",
        "description": "Pernyataan ahli waris yang disaksikan dan dikuatkan Lurah dan Camat. "
                       "Hanya di loket: semua ahli waris dan saksi hadir, dokumen asli "
                       "divalidasi.",
        "legal_basis": ["Kitab Undang-Undang Hukum Perdata, Buku II Bab XII",
                        "PMNA/Ka. BPN No. 3 Tahun 1997 Pasal 111 jo. Permen ATR/BPN No. 16 "
                        "Tahun 2021"],
        "requirements": [req("akta_kematian", "Akta kematian pewaris", upload=False,
                             original=True),
                         req("ktp_ahli_waris", "KTP-el dan KK seluruh ahli waris",
                             upload=False, original=True),
                         req("buku_nikah", "Buku nikah pewaris", upload=False, original=True),
                         req("akta_lahir", "Akta kelahiran para ahli waris", upload=False,
                             original=True),
                         req("saksi", "KTP-el dua orang saksi", upload=False, original=True)],
        "processing_days": 7, "online": False, "deliverable": False,
        "needs_cover_letter": True,
        "counter_note": "Datang ke loket kantor kelurahan pada jam layanan bersama seluruh "
                        "ahli waris dan dua saksi, membawa semua dokumen asli.",
    },
    {
        "code": "rekomendasi-pbg", "name": "Rekomendasi Persetujuan Bangunan Gedung (PBG/IMB)",
        "description": "Rekomendasi kelurahan untuk permohonan PBG melalui SIMBG. Hanya di "
                       "loket: dokumen tanah dan gambar bangunan divalidasi petugas.",
        "legal_basis": ["UU No. 28 Tahun 2002 tentang Bangunan Gedung jo. UU No. 6 Tahun 2023",
                        "PP No. 16 Tahun 2021 tentang Peraturan Pelaksanaan UU Bangunan Gedung"],
        "requirements": [req("ktp", "KTP-el pemilik", upload=False, original=True),
                         req("sertifikat", "Sertifikat/bukti kepemilikan tanah", upload=False,
                             original=True),
                         req("pbb", "SPPT PBB tahun berjalan", upload=False, original=True),
                         req("gambar", "Gambar rencana bangunan", upload=False, original=True)],
        "processing_days": 5, "online": False, "deliverable": False,
        "needs_cover_letter": True,
        "counter_note": "Ajukan di loket kantor kelurahan pada jam layanan dengan dokumen asli; "
                        "rekomendasi dilanjutkan ke permohonan PBG di SIMBG.",
    },
]


def template_services() -> list[dict[str, Any]]:
    """The template as complete service dicts (defaults filled), in display order."""
    out = []
    for position, entry in enumerate(TEMPLATE, start=1):
        needs_cover = entry.get("needs_cover_letter", False)
        service = {
            "description": "", "fields": [], "fee": 0, "online": True, "deliverable": True,
            "needs_cover_letter": False, "digital_copy": False, "counter_note": "",
            "flow_steps": (COUNTER_FLOW if not entry.get("online", True)
                           else COVER_LETTER_FLOW if needs_cover else STANDARD_FLOW),
            "sort_order": position * 10, **entry,
        }
        if needs_cover and entry.get("online", True):
            service["requirements"] = [*service["requirements"], PENGANTAR_RT_RW]
        out.append(service)
    return out
