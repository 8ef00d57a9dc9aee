/** A file of contacts as read for mapping its columns (`POST …/profiles/import/preview`). */
export interface ContactsFilePreview {
  rows: number;
  /** Each column with a few of its values and the trait it suggests. */
  columns: Array<{ name: string; trait: string; samples: string[] }>;
  /** The column that most likely names each contact (an e-mail address, a user id); null if none does. */
  idColumn: string | null;
}

/** What an import of contacts did (`POST …/profiles/import`). */
export interface ContactImportSummary {
  rows: number;
  stored: number;
  duplicates: number;
  rejected: number;
  rejectedRows: Array<{ line: number; reason: string }>;
}
