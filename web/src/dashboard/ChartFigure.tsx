import { type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';

export interface Column<Row> {
  label: string;
  cell(row: Row): ReactNode;
  isNumber?: boolean;
}

/**
 * A chart with what it shows in words: a summary beneath the title (also the chart's accessible
 * name) and, on demand, the data as a table.
 */
export function ChartFigure<Row>(props: {
  title: string;
  summary: string;
  testId: string;
  rows: Row[];
  rowKey(row: Row): string;
  columns: Array<Column<Row>>;
  children: ReactNode;
  controls?: ReactNode;
  /** What the chart alone does not say, beneath it (why messages failed). */
  footer?: ReactNode;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [isTableShown, setTableShown] = useState(false);
  return (
    <figure className="dash-figure card" aria-labelledby={`${id}-title`} data-testid={props.testId}>
      <figcaption>
        <div className="dash-figure-head">
          <h2 id={`${id}-title`}>{props.title}</h2>
          {props.controls}
        </div>
        <p className="dash-summary" data-testid={`${props.testId}-summary`}>
          {props.summary}
        </p>
      </figcaption>
      <div className="dash-chart" role="img" aria-label={`${props.title}. ${props.summary}`}>
        {props.children}
      </div>
      {props.footer}
      <button
        type="button"
        className="dash-table-toggle"
        aria-expanded={isTableShown}
        aria-controls={`${id}-table`}
        onClick={() => setTableShown(!isTableShown)}
      >
        {isTableShown ? t('dashboard.chart.hideTable') : t('dashboard.chart.showTable')}
      </button>
      <div className="dash-table-wrap" id={`${id}-table`} hidden={!isTableShown}>
        {isTableShown && (
          <table className="table">
            <caption className="visually-hidden">{props.title}</caption>
            <thead>
              <tr>
                {props.columns.map((column) => (
                  <th key={column.label} scope="col" className={column.isNumber ? 'number' : undefined}>
                    {column.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.rows.map((row) => (
                <tr key={props.rowKey(row)}>
                  {props.columns.map((column) => (
                    <td key={column.label} className={column.isNumber ? 'number' : undefined}>
                      {column.cell(row)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </figure>
  );
}
