"""Message texts, Bahasa Indonesia first. Keep them short: they go out by SMS too.

Values are written for people before they get here (:mod:`core.formatting`): times in the
office's zone with its WIB/WITA/WIT, distances as ``0,5 km``, counts with their unit."""

TEXTS: dict[str, str] = {
    "otp": "Kode masuk SIP OKE Antar: {code}. Berlaku {minutes} menit. Jangan berikan kode ini "
           "kepada siapa pun, termasuk petugas.",
    "welcome": "Selamat datang di SIP OKE Antar {office}, {name}. Akun Anda sudah terdaftar.",
    # Document requests (core/requests): one message per step the resident can see.
    "request_submitted": "Permohonan {service} ({reference}) sudah kami terima dan akan "
                         "diverifikasi petugas {office}.",
    "request_cover_letter_pending": "Permohonan {service} ({reference}) menunggu surat "
                                    "pengantar dari Ketua RW {rw}.",
    "request_cover_letter_approved": "Surat pengantar RW untuk {service} ({reference}) terbit: "
                                     "No. {number}. Permohonan diteruskan ke petugas.",
    "request_cover_letter_rejected": "Surat pengantar RW untuk {service} ({reference}) ditolak: "
                                     "{reason}",
    "request_verifying": "Permohonan {service} ({reference}) sedang diverifikasi petugas.",
    "request_needs_revision": "Permohonan {service} ({reference}) perlu diperbaiki: {note} "
                              "Unggah ulang berkas lalu kirim kembali.",
    "request_processing": "Berkas {service} ({reference}) lengkap dan sedang diproses. "
                          "Perkiraan {days}.",
    "request_finished": "Dokumen {service} ({reference}) sudah selesai. Kode verifikasi: "
                        "{code}. Pilih ambil di kantor atau antar ke rumah di aplikasi.",
    "request_rejected": "Permohonan {service} ({reference}) ditolak: {reason}",
    "request_pickup_ready": "Ambil dokumen {service} ({reference}) di {office}. Kode ambil: "
                            "{pickup_code}. Jam layanan: {hours}. Bawa dokumen asli: "
                            "{originals}.",
    "request_delivery_chosen": "Dokumen {service} ({reference}) akan diantar ke alamat Anda. "
                               "Kami kabari saat kurir berangkat.",
    "request_pickup_code_replaced": "Kode ambil dokumen {service} ({reference}) di {office} "
                                    "sudah diganti. Kode ambil baru: {pickup_code}. Jangan "
                                    "berikan kode ini kepada orang lain.",
    "request_returned_to_office": "Pengantaran dokumen {service} ({reference}) tidak berhasil; "
                                  "dokumen ada di {office}. Kode ambil: {pickup_code}.",
    "request_completed": "Dokumen {service} ({reference}) sudah diserahkan. Terima kasih telah "
                         "menggunakan SIP OKE Antar.",
    "request_digital_copy": "Salinan digital dokumen {service} ({reference}) siap diunduh: "
                            "{link} Kode verifikasi: {code}.",
    "request_cancelled": "Permohonan {service} ({reference}) dibatalkan.",
    # The office's couriers (fleet/): no resident data in these, only a job code.
    "courier_offer": "Tawaran antar dokumen {code}: {km} dari kantor. Terima atau tolak "
                     "dalam {minutes} di aplikasi SIP OKE Antar.",
    "courier_job_cancelled": "Tugas antar dokumen {code} dibatalkan oleh kantor. Jika dokumen "
                             "sudah Anda bawa, kembalikan ke kantor.",
    # Home delivery (delivery/): quotes, the handover PIN, failed or cancelled deliveries.
    "delivery_quotes_ready": "Pilihan kurir untuk dokumen {reference} sudah tersedia "
                             "({count} penawaran). Pilih di aplikasi sebelum {until}.",
    "delivery_pin": "Kurir {courier} akan mengantar dokumen {reference}. PIN serah terima: "
                    "{pin}. Berikan PIN hanya kepada kurir saat dokumen diterima.",
    "delivery_returning": "Pengantaran dokumen {reference} tidak berhasil ({reason}); dokumen "
                          "dibawa kembali ke kantor.",
    "delivery_pin_locked": "PERINGATAN: PIN serah terima dokumen {reference} salah 5 kali; "
                           "serah terima dikunci. Hubungi kurir dan pemohon.",
}


def render(kind: str, **values: object) -> str:
    return TEXTS[kind].format(**values)
