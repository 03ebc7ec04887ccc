"""Names and agencies for believable demo data (East Java flavour)."""

MALE_FIRST = ["Budi", "Slamet", "Agus", "Joko", "Bambang", "Suryanto", "Sutrisno", "Wahyudi", "Heru", "Eko",
              "Didik", "Bagus", "Supriyadi", "Mujiono", "Sugeng", "Purnomo", "Imam", "Ahmad", "Muhammad", "Rizal",
              "Fajar", "Dwi", "Hadi", "Teguh", "Yusuf", "Suparno", "Karyono", "Tarno", "Paijo", "Gatot"]
FEMALE_FIRST = ["Siti", "Sri", "Dewi", "Endang", "Sulastri", "Wahyuni", "Suyati", "Lestari", "Rina", "Yuli",
                "Ninik", "Tutik", "Sumarni", "Partini", "Lilik", "Anik", "Nur", "Fitri", "Indah", "Ratna",
                "Kartini", "Winarsih", "Mulyani", "Sundari", "Rukmini", "Dian", "Ayu", "Umi", "Marsini", "Painem"]
SURNAMES = ["Santoso", "Wibowo", "Prasetyo", "Hidayat", "Rahayu", "Susanto", "Setiawan", "Kurniawan", "Purwanto",
            "Handayani", "Nugroho", "Wulandari", "Saputra", "Lestari", "Utomo", "Hartono", "Maryam", "Fauzi",
            "Subagyo", "Suprapto", "Widodo", "Ningsih", "Arifin", "Harjono", "Mustofa", "Anwar", "Sholikhah"]

# Real OPD names of an East Java regency government (with RSUD dr. Harjono as in Ponorogo).
AGENCIES = [
    ("Sekretariat Daerah", "Setda"),
    ("Sekretariat DPRD", "Setwan"),
    ("Inspektorat Daerah", "Inspektorat"),
    ("Badan Perencanaan Pembangunan Daerah", "Bappeda"),
    ("Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", "BKPSDM"),
    ("Badan Pengelolaan Keuangan dan Aset Daerah", "BPKAD"),
    ("Badan Pendapatan Daerah", "Bapenda"),
    ("Dinas Pendidikan dan Kebudayaan", "Dindikbud"),
    ("Dinas Kesehatan", "Dinkes"),
    ("Rumah Sakit Umum Daerah dr. Harjono", "RSUD"),
    ("Dinas Pekerjaan Umum dan Penataan Ruang", "DPUPR"),
    ("Dinas Sosial", "Dinsos"),
    ("Dinas Tenaga Kerja", "Disnaker"),
    ("Dinas Pertanian, Ketahanan Pangan dan Perikanan", "Dispertahankan"),
    ("Dinas Kependudukan dan Pencatatan Sipil", "Dispendukcapil"),
    ("Dinas Perhubungan", "Dishub"),
    ("Dinas Komunikasi, Informatika dan Statistik", "Diskominfo"),
    ("Dinas Perdagangan, Koperasi dan Usaha Mikro", "Disperdakum"),
    ("Dinas Lingkungan Hidup", "DLH"),
    ("Satuan Polisi Pamong Praja", "Satpol PP"),
]

# Occupation codes (see migration 0002) with rough weights for rural East Java.
OCCUPATION_WEIGHTS = [
    ("petani", 18), ("buruh-tani", 16), ("petani-tembakau", 4), ("peternak", 5), ("pedagang-kecil", 10),
    ("mlijo", 6), ("ojek", 6), ("sopir", 3), ("kurir", 2), ("tukang-becak", 2), ("buruh-bangunan", 8),
    ("art", 7), ("satpam", 2), ("juru-parkir", 2), ("pemulung", 1), ("guru-ngaji", 3), ("marbot", 2),
    ("kader-kesehatan", 3),
]
